# MicroPython only: runs main.main() for a bounded number of passes against fake/machine.py.
# argv: telegram file fed to the fake UART2, passes, then optionally an S1 stream file for UART1
# and "fail-s1" (UART1 cannot be created) or "no-s1" (main(s1=False)).
import sys

import machine

f = open(sys.argv[1], "rb")
machine.FEED = f.read()
f.close()
if len(sys.argv) > 3 and sys.argv[3] != "-":
    f = open(sys.argv[3], "rb")
    machine.FEED_S1 = f.read()
    f.close()
mode = sys.argv[4] if len(sys.argv) > 4 else ""
if mode == "fail-s1":
    machine.FAIL_UARTS = (1,)
import main

main.main(loops=int(sys.argv[2]), s1=mode != "no-s1")
sys.stdout.buffer.write(("\nCREATED " + repr(machine.CREATED) + "\n").encode())
