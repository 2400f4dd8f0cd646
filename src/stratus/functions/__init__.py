"""The Lambda control plane: functions, their code and configuration.

The package imports nothing itself: the CLI takes `packaging` from here and should not
pay for the database and the wire layer the services bring in."""
