"""buildgate's pytest side: the plugin that turns ``.feature`` files into audited criteria.

Registered through the ``pytest11`` entry point (``pytest_buildgate.plugin``), so its options are
known before pytest reads the command line's paths (an audited repository named by ``--repo PATH``
is never taken for a test folder). :mod:`buildgate` itself never imports pytest.

- :mod:`~pytest_buildgate.plugin`: dispatch only (the modules below are its plugins).
- :mod:`~pytest_buildgate.target`: ``--target``/``--repo``, and the guard that keeps pytest from
  loading anything of the audited repository.
- :mod:`~pytest_buildgate.collection`: ``.feature`` files collected as modules, tags validated.
- :mod:`~pytest_buildgate.verdicts`: each scenario's verdict and evidence (survives xdist).
- :mod:`~pytest_buildgate.output`: the report, the gate, the exit status and the report files.
- :mod:`~pytest_buildgate.claims`: ``--claims``, the audit of a resolution document.
- :mod:`~pytest_buildgate.cli`: the ``buildgate`` command (``buildgate audit`` runs pytest).
- :mod:`~pytest_buildgate.bundle`: the built-in features, steps and fixtures (installed as
  ``pytest_buildgate.features``, ``.steps``, ``.fixtures`` from the checkout's top-level folders).
"""
