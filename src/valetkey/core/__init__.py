"""Pure protocol logic: no I/O, no async, no clock reads, no web or database imports."""
