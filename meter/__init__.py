"""The meter's ports as software, with no board in them: what a Fluvius meter sends and how a host plays or reads
it. Its modules: README.md's layout table; the bench (bringup) and the firmware's host tools build on it."""
