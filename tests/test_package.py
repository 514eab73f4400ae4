"""Package-level promises: a light import, lazy public names."""

from __future__ import annotations

import subprocess
import sys

import pytest


def test_import_nblabel_loads_no_heavy_library():
    code = (
        "import sys, nblabel, nblabel.models\n"
        "nblabel.Dataset\n"
        "heavy = [m for m in ('torch', 'ultralytics', 'cv2', 'matplotlib') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_public_names_resolve_and_unknown_names_fail():
    import nblabel as nbl

    for name in nbl.__all__:
        assert getattr(nbl, name) is not None, name
    assert "Annotator" in dir(nbl)
    with pytest.raises(AttributeError, match="NoSuchThing"):
        nbl.NoSuchThing  # noqa: B018
