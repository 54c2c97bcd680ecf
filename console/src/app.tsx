import { useEffect, useRef, useState } from 'preact/hooks';
import { whenUnauthorized } from './api';
import { CohortEditor } from './pages/cohort-editor';
import { CohortList } from './pages/cohort-list';
import { ConnectionPage } from './pages/connection';
import { History } from './pages/history';
import { SignIn } from './pages/sign-in';
import { href, type Route, useRoute } from './router';
import { clearToken, storedToken } from './session';

export function App() {
  const [signedIn, setSignedIn] = useState(() => storedToken() !== null);
  const [notice, setNotice] = useState<string | null>(null);
  const route = useRoute();

  useEffect(() => {
    whenUnauthorized(() => {
      clearToken();
      setNotice('Your token is no longer valid. Sign in again.');
      setSignedIn(false);
    });
  }, []);

  if (!signedIn) {
    return (
      <SignIn
        notice={notice}
        onSignedIn={() => {
          setNotice(null);
          setSignedIn(true);
        }}
      />
    );
  }
  const signOut = () => {
    clearToken();
    setNotice('You are signed out.');
    setSignedIn(false);
  };
  return <Shell route={route} onSignOut={signOut} />;
}

function Shell({ route, onSignOut }: { route: Route; onSignOut: () => void }) {
  const main = useRef<HTMLElement>(null);
  // After a page change, keyboard and screen-reader users start at the new page's heading.
  useEffect(() => {
    main.current?.querySelector<HTMLElement>('h1')?.focus();
  }, [route.page, 'id' in route ? route.id : null]);

  return (
    <>
      <a class="skip-link" href="#main" onClick={(e) => (e.preventDefault(), main.current?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href={href.list}>
          Cohort Control
        </a>
        <nav aria-label="Main">
          <a href={href.list} aria-current={route.page === 'list' ? 'page' : undefined}>
            Cohorts
          </a>
          <a href={href.new} aria-current={route.page === 'new' ? 'page' : undefined}>
            New cohort
          </a>
          <a href={href.connection} aria-current={route.page === 'connection' ? 'page' : undefined}>
            Braze connection
          </a>
          <a href="/admin/queues" target="_blank" rel="noopener noreferrer">
            Bull Board (operators)
          </a>
        </nav>
        <button type="button" class="secondary" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'list':
      return <CohortList />;
    case 'new':
      return <CohortEditor key="new" />;
    case 'edit':
      return <CohortEditor key={route.id} id={route.id} />;
    case 'history':
      return <History key={route.id} id={route.id} />;
    case 'connection':
      return <ConnectionPage />;
  }
}
