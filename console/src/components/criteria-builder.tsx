import { useState } from 'preact/hooks';
import { issuesAt } from '../api';
import type { CriteriaNode, FieldIssue, ScalarValue } from '../types';
import { describedBy, FieldError } from './field-error';

/**
 * The criteria builder edits the API's own JSON tree: each node knows its JSON path
 * (`criteria.all[1]`), so the API's validation messages land next to the field they name.
 */
type Group = { all: CriteriaNode[] } | { any: CriteriaNode[] } | { not: CriteriaNode };
type GroupKind = 'all' | 'any' | 'not';

const PROPERTY_OPS: [string, string][] = [
  ['eq', 'equals'],
  ['neq', 'does not equal'],
  ['in', 'is one of'],
  ['not_in', 'is none of'],
  ['gt', 'is greater than'],
  ['gte', 'is at least'],
  ['lt', 'is less than'],
  ['lte', 'is at most'],
  ['contains', 'contains'],
  ['exists', 'is set'],
  ['not_exists', 'is not set'],
];
const EVENT_OPS: [string, string][] = [
  ['gte', 'at least'],
  ['gt', 'more than'],
  ['eq', 'exactly'],
  ['neq', 'not exactly'],
  ['lte', 'at most'],
  ['lt', 'fewer than'],
];
type ValueType = 'string' | 'number' | 'boolean';

export const isGroup = (n: CriteriaNode): n is Group => 'all' in n || 'any' in n || 'not' in n;
const kindOf = (g: Group): GroupKind => ('all' in g ? 'all' : 'any' in g ? 'any' : 'not');
// A "not" group shows the conditions of the "all" group it wraps (or its one node).
const childrenOf = (g: Group): CriteriaNode[] =>
  'all' in g ? g.all : 'any' in g ? g.any : 'all' in g.not ? g.not.all : [g.not];

function withKind(g: Group, kind: GroupKind): Group {
  const children = childrenOf(g);
  if (kind === 'not') return { not: children.length === 1 ? children[0]! : { all: children } };
  return kind === 'all' ? { all: children } : { any: children };
}

function withChildren(g: Group, children: CriteriaNode[]): Group {
  const kind = kindOf(g);
  if (kind === 'not') return { not: children.length === 1 ? children[0]! : { all: children } };
  return kind === 'all' ? { all: children } : { any: children };
}

/** The JSON path of a group's i-th child, as the API writes it. */
function childPath(g: Group, path: string, i: number): string {
  if ('all' in g) return `${path}.all[${i}]`;
  if ('any' in g) return `${path}.any[${i}]`;
  return 'all' in g.not ? `${path}.not.all[${i}]` : `${path}.not`;
}

const NEW_NODES: [string, () => CriteriaNode][] = [
  ['property condition', () => ({ property: '', op: 'eq', value: '' })],
  ['event condition', () => ({ event: '', op: 'gte', count: 1, within_days: 30 })],
  ['identity condition', () => ({ identity: 'identified' })],
  ['group', () => ({ any: [] })],
];

export function CriteriaBuilder(props: {
  value: CriteriaNode;
  onChange: (n: CriteriaNode) => void;
  issues: FieldIssue[];
}) {
  const root: Group = isGroup(props.value) ? props.value : { all: [props.value] };
  return <GroupEditor group={root} path="criteria" depth={0} issues={props.issues} onChange={props.onChange} />;
}

function GroupEditor(props: {
  group: Group;
  path: string;
  depth: number;
  issues: FieldIssue[];
  onChange: (g: Group) => void;
  onRemove?: () => void;
}) {
  const { group, path } = props;
  const children = childrenOf(group);
  const id = `g-${path.replace(/[^A-Za-z0-9]/g, '-')}`;
  const ownIssues = props.issues.filter((i) => i.path === path);
  const setChild = (i: number, n: CriteriaNode) =>
    props.onChange(
      withChildren(
        group,
        children.map((c, j) => (j === i ? n : c)),
      ),
    );
  const removeChild = (i: number) =>
    props.onChange(
      withChildren(
        group,
        children.filter((_, j) => j !== i),
      ),
    );
  return (
    <fieldset class={`group depth-${props.depth}`}>
      <legend class="visually-hidden">{props.depth === 0 ? 'Criteria' : 'Group'}</legend>
      <div class="group-head">
        <label for={`${id}-kind`}>{props.depth === 0 ? 'Users who match' : 'Group: match'}</label>
        <select
          id={`${id}-kind`}
          value={kindOf(group)}
          onChange={(e) => props.onChange(withKind(group, e.currentTarget.value as GroupKind))}
          {...describedBy(`${id}-error`, ownIssues)}
        >
          <option value="all">all of these (and)</option>
          <option value="any">any of these (or)</option>
          <option value="not">none of these (not)</option>
        </select>
        {props.onRemove && (
          <button type="button" class="secondary small" onClick={props.onRemove}>
            Remove group
          </button>
        )}
      </div>
      <FieldError id={`${id}-error`} issues={ownIssues} />
      {children.length === 0 && <p class="hint">No conditions yet: add one below.</p>}
      <ol class="conditions">
        {children.map((child, i) => {
          const p = childPath(group, path, i);
          return (
            <li key={i}>
              {isGroup(child) ? (
                <GroupEditor
                  group={child}
                  path={p}
                  depth={props.depth + 1}
                  issues={props.issues}
                  onChange={(g) => setChild(i, g)}
                  onRemove={() => removeChild(i)}
                />
              ) : (
                <ConditionEditor
                  node={child}
                  path={p}
                  issues={props.issues}
                  onChange={(n) => setChild(i, n)}
                  onRemove={() => removeChild(i)}
                />
              )}
            </li>
          );
        })}
      </ol>
      <div class="add-buttons">
        {NEW_NODES.filter(([name]) => name !== 'group' || props.depth < 4).map(([name, make]) => (
          <button
            key={name}
            type="button"
            class="secondary small"
            onClick={() => props.onChange(withChildren(group, [...children, make()]))}
          >
            Add {name}
          </button>
        ))}
      </div>
    </fieldset>
  );
}

function ConditionEditor(props: {
  node: CriteriaNode;
  path: string;
  issues: FieldIssue[];
  onChange: (n: CriteriaNode) => void;
  onRemove: () => void;
}) {
  const { node, path } = props;
  const id = `c-${path.replace(/[^A-Za-z0-9]/g, '-')}`;
  const at = (field: string) => issuesAt(props.issues, `${path}.${field}`);
  const rowIssues = props.issues.filter((i) => i.path === path);
  const remove = (
    <button type="button" class="secondary small" onClick={props.onRemove}>
      Remove condition
    </button>
  );

  if ('identity' in node) {
    return (
      <div class="condition" role="group" aria-label="Identity condition">
        <span class="kind">Identity</span>
        <label class="visually-hidden" for={`${id}-identity`}>
          Identity
        </label>
        <select
          id={`${id}-identity`}
          value={node.identity}
          onChange={(e) => props.onChange({ identity: e.currentTarget.value as 'identified' | 'anonymous' })}
          {...describedBy(`${id}-identity-error`, at('identity'))}
        >
          <option value="identified">is identified (external id or alias)</option>
          <option value="anonymous">is anonymous</option>
        </select>
        {remove}
        <FieldError id={`${id}-identity-error`} issues={[...at('identity'), ...rowIssues]} />
      </div>
    );
  }

  if ('event' in node) {
    const set = (patch: Partial<typeof node>) => props.onChange({ ...node, ...patch });
    return (
      <div class="condition" role="group" aria-label="Event condition">
        <span class="kind">Did event</span>
        <Field id={`${id}-event`} label="Event name" issues={at('event')}>
          <input
            id={`${id}-event`}
            value={node.event}
            placeholder="purchase"
            onInput={(e) => set({ event: e.currentTarget.value })}
            {...describedBy(`${id}-event-error`, at('event'))}
          />
        </Field>
        <Field id={`${id}-op`} label="How often" issues={at('op')}>
          <select
            id={`${id}-op`}
            value={node.op}
            onChange={(e) => set({ op: e.currentTarget.value })}
            {...describedBy(`${id}-op-error`, at('op'))}
          >
            {EVENT_OPS.map(([v, text]) => (
              <option key={v} value={v}>
                {text}
              </option>
            ))}
          </select>
        </Field>
        <Field id={`${id}-count`} label="Times" issues={at('count')}>
          <input
            id={`${id}-count`}
            type="number"
            min={0}
            step={1}
            value={String(node.count)}
            onInput={(e) => set({ count: e.currentTarget.valueAsNumber })}
            {...describedBy(`${id}-count-error`, at('count'))}
          />
        </Field>
        <Field id={`${id}-days`} label="Within days" issues={at('within_days')}>
          <input
            id={`${id}-days`}
            type="number"
            min={1}
            step={1}
            value={String(node.within_days)}
            onInput={(e) => set({ within_days: e.currentTarget.valueAsNumber })}
            {...describedBy(`${id}-days-error`, at('within_days'))}
          />
        </Field>
        {remove}
        <FieldError id={`${id}-row-error`} issues={rowIssues} />
      </div>
    );
  }

  if (!('property' in node)) return null;
  const list = node.op === 'in' || node.op === 'not_in';
  const noValue = node.op === 'exists' || node.op === 'not_exists';
  const values = Array.isArray(node.value) ? node.value : node.value === undefined ? [] : [node.value];
  const type: ValueType =
    typeof values[0] === 'number' ? 'number' : typeof values[0] === 'boolean' ? 'boolean' : 'string';
  const text = values.map(String).join(', ');

  const build = (op: string, raw: string, t: ValueType): CriteriaNode => {
    if (op === 'exists' || op === 'not_exists') return { property: node.property, op };
    const isList = op === 'in' || op === 'not_in';
    const parts = isList
      ? raw
          .split(',')
          .map((s) => s.trim())
          .filter((s) => s !== '')
      : [raw];
    const typed = parts.map((s): ScalarValue =>
      t === 'number' ? (s.trim() === '' ? Number.NaN : Number(s)) : t === 'boolean' ? s === 'true' : s,
    );
    // A number field left invalid is sent as text, so the API names it instead of guessing.
    const safe = typed.map((v, i) => (typeof v === 'number' && !Number.isFinite(v) ? parts[i]! : v));
    return { property: node.property, op, value: isList ? safe : (safe[0] ?? '') };
  };

  return (
    <div class="condition" role="group" aria-label="Property condition">
      <span class="kind">Property</span>
      <Field id={`${id}-property`} label="Property name" issues={at('property')}>
        <input
          id={`${id}-property`}
          value={node.property}
          placeholder="country"
          spellcheck={false}
          onInput={(e) => props.onChange({ ...node, property: e.currentTarget.value })}
          {...describedBy(`${id}-property-error`, at('property'))}
        />
      </Field>
      <Field id={`${id}-op`} label="Operator" issues={at('op')}>
        <select
          id={`${id}-op`}
          value={node.op}
          onChange={(e) =>
            props.onChange(build(e.currentTarget.value, list ? text : values.length > 0 ? String(values[0]) : '', type))
          }
          {...describedBy(`${id}-op-error`, at('op'))}
        >
          {PROPERTY_OPS.map(([v, label]) => (
            <option key={v} value={v}>
              {label}
            </option>
          ))}
        </select>
      </Field>
      {!noValue && (
        <>
          <Field id={`${id}-type`} label="Value type" issues={[]}>
            <select
              id={`${id}-type`}
              value={type}
              onChange={(e) => props.onChange(build(node.op, text, e.currentTarget.value as ValueType))}
            >
              <option value="string">Text</option>
              <option value="number">Number</option>
              {!['gt', 'gte', 'lt', 'lte', 'contains'].includes(node.op) && (
                <option value="boolean">True / false</option>
              )}
            </select>
          </Field>
          <Field id={`${id}-value`} label={list ? 'Values (comma separated)' : 'Value'} issues={at('value')}>
            {type === 'boolean' && !list ? (
              <select
                id={`${id}-value`}
                value={text}
                onChange={(e) => props.onChange(build(node.op, e.currentTarget.value, 'boolean'))}
                {...describedBy(`${id}-value-error`, at('value'))}
              >
                <option value="true">true</option>
                <option value="false">false</option>
              </select>
            ) : (
              <TextAsTyped
                key={`${type}-${list}`}
                id={`${id}-value`}
                initial={text}
                inputMode={type === 'number' ? 'decimal' : undefined}
                onText={(raw) => props.onChange(build(node.op, raw, type))}
                {...describedBy(`${id}-value-error`, at('value'))}
              />
            )}
          </Field>
        </>
      )}
      {remove}
      <FieldError id={`${id}-row-error`} issues={rowIssues} />
    </div>
  );
}

function Field(props: { id: string; label: string; issues: FieldIssue[]; children: preact.ComponentChildren }) {
  return (
    <div class="field inline">
      <label for={props.id}>{props.label}</label>
      {props.children}
      <FieldError id={`${props.id}-error`} issues={props.issues} />
    </div>
  );
}

/** Keeps what the user typed ("BR, " or "1.") while the node holds the parsed values. */
function TextAsTyped(props: {
  id: string;
  initial: string;
  inputMode?: 'decimal';
  onText: (raw: string) => void;
  'aria-invalid'?: boolean;
  'aria-describedby'?: string;
}) {
  const { initial, onText, ...rest } = props;
  const [raw, setRaw] = useState(initial);
  return (
    <input
      {...rest}
      value={raw}
      spellcheck={false}
      onInput={(e) => {
        setRaw(e.currentTarget.value);
        onText(e.currentTarget.value);
      }}
    />
  );
}
