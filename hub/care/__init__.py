"""Care routines: daily check-in, reminders, service requests, family call-back, consent."""
