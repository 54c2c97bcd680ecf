import { useEffect, useState } from 'preact/hooks';
import { api, type ApiError, issuesAt } from '../api';
import { ActionStatus, useAction } from '../components/action';
import { describedBy, FieldError } from '../components/field-error';
import { Modal } from '../components/modal';
import { browserZone, dateTimeIn } from '../format';
import type { BrazeConnection, EndpointChoice } from '../types';

/** The workspace's Braze connection: REST endpoint and data import key (write-only). */
export function ConnectionPage() {
  const [connection, setConnection] = useState<BrazeConnection | null | undefined>(undefined);
  const [choices, setChoices] = useState<EndpointChoice[]>([]);
  const [endpoint, setEndpoint] = useState('');
  const [key, setKey] = useState('');
  const action = useAction(['rest_endpoint', 'data_import_key']);
  const { busy, issues, message, setMessage } = action;
  const [confirming, setConfirming] = useState(false);

  useEffect(() => {
    api<{ data: EndpointChoice[] }>('GET', '/braze-connection/endpoints')
      .then((r) => setChoices(r.data))
      .catch((e: Error) => setMessage({ text: e.message, error: true }));
    api<BrazeConnection>('GET', '/braze-connection')
      .then((c) => (setConnection(c), setEndpoint(c.rest_endpoint)))
      .catch((e: ApiError) => (e.status === 404 ? setConnection(null) : setMessage({ text: e.message, error: true })));
  }, []);

  const save = (e: Event) => {
    e.preventDefault();
    void action.run(async () => {
      const saved = await api<BrazeConnection>('PUT', '/braze-connection', {
        rest_endpoint: endpoint,
        data_import_key: key,
      });
      setConnection(saved);
      setKey('');
      return 'Braze connection saved.';
    });
  };

  const remove = () =>
    action.run(async () => {
      setConfirming(false);
      await api('DELETE', '/braze-connection');
      setConnection(null);
      return 'Braze connection removed. Imports need a new one.';
    });

  const braze = choices.filter((c) => !c.allowlisted);
  const allowlisted = choices.filter((c) => c.allowlisted);
  return (
    <section aria-labelledby="connection-title">
      <h1 id="connection-title" tabIndex={-1}>
        Braze connection
      </h1>
      {connection === undefined && <p role="status">Loading…</p>}
      {connection && (
        <dl class="facts">
          <dt>REST endpoint</dt>
          <dd>{connection.rest_endpoint}</dd>
          <dt>Region</dt>
          <dd>{connection.region}</dd>
          <dt>Data import key</dt>
          <dd>
            <span aria-label={`ending in ${connection.data_import_key.slice(-4)}`}>{connection.data_import_key}</span>
          </dd>
          <dt>Saved</dt>
          <dd>{dateTimeIn(connection.updated_at, browserZone(), { withZone: true })}</dd>
        </dl>
      )}
      {connection === null && <p>This workspace is not connected to Braze yet.</p>}

      <form onSubmit={save} noValidate>
        <h2>{connection ? 'Change the connection' : 'Connect Braze'}</h2>
        <div class="field">
          <label for="endpoint">REST endpoint</label>
          <select
            id="endpoint"
            value={endpoint}
            onChange={(e) => {
              setEndpoint(e.currentTarget.value);
              action.dismiss('rest_endpoint');
            }}
            {...describedBy('endpoint-error', issuesAt(issues, 'rest_endpoint'), 'endpoint-hint')}
          >
            <option value="">Choose your Braze REST endpoint</option>
            <optgroup label="Braze">
              {braze.map((c) => (
                <option key={c.url} value={c.url}>
                  {c.url} ({c.region})
                </option>
              ))}
            </optgroup>
            {allowlisted.length > 0 && (
              <optgroup label="Allow-listed by your operator">
                {allowlisted.map((c) => (
                  <option key={c.url} value={c.url}>
                    {c.url}
                  </option>
                ))}
              </optgroup>
            )}
          </select>
          <p id="endpoint-hint" class="hint">
            The REST endpoint of your Braze dashboard's instance, e.g. https://rest.iad-01.braze.com for US-01.
          </p>
          <FieldError id="endpoint-error" issues={issuesAt(issues, 'rest_endpoint')} />
        </div>
        <div class="field">
          <label for="import-key">Data import key</label>
          <input
            id="import-key"
            type="password"
            autocomplete="off"
            spellcheck={false}
            value={key}
            onInput={(e) => {
              setKey(e.currentTarget.value);
              action.dismiss('data_import_key');
            }}
            {...describedBy('key-error', issuesAt(issues, 'data_import_key'), 'key-hint')}
          />
          <p id="key-hint" class="hint">
            In Braze, go to <strong>Partner Integrations &gt; Technology Partners</strong>, open this partner's page and
            generate a data import key. It is stored encrypted and never shown again: afterwards only its last 4
            characters appear.
          </p>
          <FieldError id="key-error" issues={issuesAt(issues, 'data_import_key')} />
        </div>
        <ActionStatus message={message} />
        <div class="buttons">
          <button type="submit" disabled={busy}>
            Save connection
          </button>
          {connection && (
            <button type="button" class="danger" disabled={busy} onClick={() => setConfirming(true)}>
              Remove connection
            </button>
          )}
        </div>
      </form>
      {confirming && (
        <Modal title="Remove the Braze connection?" onClose={() => setConfirming(false)}>
          <p>
            Imports and schedules of this workspace stop reaching Braze until a new connection is saved. Cohorts already
            in Braze stay there.
          </p>
          <div class="buttons">
            <button type="button" class="danger" onClick={remove} disabled={busy}>
              Remove
            </button>
            <button type="button" class="secondary" onClick={() => setConfirming(false)}>
              Keep it
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
