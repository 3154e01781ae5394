// The floor of the measure: what navigating costs a page that does nothing but mark itself drawn.
performance.mark('powerstats:ready:yearly');
