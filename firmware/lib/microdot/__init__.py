# --- vendored: do not edit (tests/reader/test_reader_vendored.py checks the body) ---
# Microdot 2.7.0 (Miguel Grinberg), file microdot/__init__.py of the PyPI wheel microdot-2.7.0-py3-none-any.whl
# (https://pypi.org/project/microdot/2.7.0/).
# upstream-sha256: d2bc801e842a2b4e3e5a82e26c82f5cce65f1edbca27e9c1df1ac5828ebb50eb
# Licence (MIT):
#
#   MIT License
#
#   Copyright (c) 2019 Miguel Grinberg
#
#   Permission is hereby granted, free of charge, to any person obtaining a copy
#   of this software and associated documentation files (the "Software"), to deal
#   in the Software without restriction, including without limitation the rights
#   to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
#   copies of the Software, and to permit persons to whom the Software is
#   furnished to do so, subject to the following conditions:
#
#   The above copyright notice and this permission notice shall be included in all
#   copies or substantial portions of the Software.
#
#   THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
#   IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
#   FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
#   AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
#   LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
#   OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
#   SOFTWARE.
# --- end of header; the upstream file follows unchanged ---
from microdot.microdot import Microdot, Request, Response, abort, redirect, \
    send_file, URLPattern, AsyncBytesIO, iscoroutine  # noqa: F401

__version__ = '2.7.0'
