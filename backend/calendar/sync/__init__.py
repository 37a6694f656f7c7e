"""Two-way sync with the owner's own calendars (CalDAV, Google): appointments go out as events, busy time
comes back as BusyPeriod rows. `runner` holds the background tasks; a failing calendar never blocks a booking."""
