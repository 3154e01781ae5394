// A stand-in for HA's frontend around <powerstats-panel>: the `hass` object it hands to panels,
// whose fetchWithAuth adds the logged-in user's bearer token the way HA's does.
const params = new URLSearchParams(location.search);
const token = params.get('token');
const hass = {
  language: 'en',
  // The user's profile settings, as HA hands them over (a test may choose them in the query).
  locale: {
    language: params.get('language') ?? 'en-GB',
    number_format: params.get('number_format') ?? 'language',
    time_format: params.get('time_format') ?? 'language',
  },
  themes: { darkMode: params.get('dark') === '1' },
  fetchWithAuth(path, init = {}) {
    return fetch(path, { ...init, headers: { ...init.headers, Authorization: `Bearer ${token}` } });
  },
};
await import(params.get('module'));
const panel = document.createElement('powerstats-panel');
panel.panel = { config: { data_url: '/api/powerstats/data/' } };
panel.narrow = false;
panel.hass = hass;
document.body.append(panel);

// HA's navigate(): a new history entry, then location-changed on the window (clicking a sidebar
// entry does this; Back and Forward are the browser's popstate).
window.hassNavigate = (path) => {
  history.pushState(null, '', path);
  window.dispatchEvent(new CustomEvent('location-changed', { detail: { replace: false } }));
};
