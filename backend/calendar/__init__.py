"""Appointments and calendars: availability, slots, booking, reminders, ICS, and sync with outside calendars."""
