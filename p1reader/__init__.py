"""`p1reader`, the one command of the toolkit: it parses the first word and hands the rest to the package whose
concern it is — the board (`fab`, `check`, `generate`, `si`: hwtools), the meter's S1 port (`s1`: meter.s1),
the bench (`bringup`). It sits on the top floor: it may import every package, none imports it.
"""
