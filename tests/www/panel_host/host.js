// A stand-in for HA's frontend around <powerstats-panel>: the `hass` object it hands to panels,
// whose fetchWithAuth adds the logged-in user's bearer token the way HA's does.
const params = new URLSearchParams(location.search);
const token = params.get('token');
const hass = {
  language: 'en',
  locale: { language: 'en-GB' },
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
