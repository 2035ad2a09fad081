"""The p1reader board as code: design, checks and manufacture. Its modules: README.md's layout table."""
