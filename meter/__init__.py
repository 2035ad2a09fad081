"""The meter's ports as software, with no board in them: what a Fluvius meter sends and how a host plays or reads it.

P1: the line rates (`lines`), the telegram builder (`telegrams`), meter flavours and their dsmr_parser profiles
(`flavours`), captures framed as the firmware frames them (`capture`), serial links (`link`) and the meter
simulator that plays bytes at the line rate (`simulator`). S1: frames, decoder, analysis, synthesis and live
sources (`meter.s1`). The bench (bringup) and the firmware's host tools build on it.
"""
