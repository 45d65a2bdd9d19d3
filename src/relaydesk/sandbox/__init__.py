"""Local emulators of the external APIs relaydesk calls, for tests, the offline demo and dry runs."""
