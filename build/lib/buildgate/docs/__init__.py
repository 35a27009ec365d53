"""The documentation criteria, one module per concern.

- :mod:`buildgate.docs.topics`: D1, the build docs cover their topics (Markdown sections).
- :mod:`buildgate.docs.markdown`: links and references in Markdown (read with markdown-it-py).
- :mod:`buildgate.docs.links`: D2, the README links the build docs.
- :mod:`buildgate.docs.paths`: D3, every path the docs, scripts and workflows name exists.
- :mod:`buildgate.docs.options`: D3, every script option the docs show is one the script accepts.
"""
