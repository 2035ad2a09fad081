"""The p1reader board as code: design, checks and manufacture.

The circuit in skidl (`circuit`) with its part facts (`facts`, `parts.toml`); the design rules by block
(`rules`) and the signal-integrity simulation (`si`); the KiCad 9 schematic (`schematic`), placement
(`layout`), board, routing and geometry (`pcb`, `routing`, `geometry`); `make fab` as cached, staged steps
(`pipeline`, `staging`) into the AISLER package (`fab`, `bom`). See README.md.
"""
