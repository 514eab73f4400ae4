"""Browser tests (JupyterLab + Chromium); a package so their module names do not clash with tests/."""
