"""Bring-up station for the p1reader board: station config → instruments/ports → steps → record/report.

See bringup/README.md. Entry point: ``python -m bringup run --station <station.yaml | sim> --board-serial <SN>``.
"""
