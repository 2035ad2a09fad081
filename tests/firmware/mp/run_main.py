# MicroPython only: runs main.main() for a bounded number of passes against fake/machine.py.
# argv[1] is a telegram file fed to the fake UART.
import sys

import machine

f = open(sys.argv[1], "rb")
machine.FEED = f.read()
f.close()
import main

main.main(loops=int(sys.argv[2]))
sys.stdout.buffer.write(("\nCREATED " + repr(machine.CREATED) + "\n").encode())
