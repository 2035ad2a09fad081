"""The simulated bench: the same run, with a simulated board process on socat ptys (`board`) and pyvisa-sim
instruments (`instruments.yaml`) wired in by `bench.SimBench`; the faults it can play (`faults`)."""
