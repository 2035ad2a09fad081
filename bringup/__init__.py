"""The bench: bring-up of assembled boards — station config → instruments and console → steps → record, results database, yield page.

See bringup/README.md. Entry point: ``p1reader bringup run --station <station.yaml | sim> --board-serial <SN>``.
"""
