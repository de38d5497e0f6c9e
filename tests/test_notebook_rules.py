"""Rules every lecture notebook keeps: no cell is allowed to fail (an exercise stub says "not attempted yet" instead
of raising, so nbval needs no raises-exception tag), outputs are cleared, and no random draw has a seed of its own."""
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
SEED_LITERAL = re.compile(r"(seed\s*=\s*[0-9]+|set_seed\(\s*[0-9]+|default_rng\(\s*[0-9]+|manual_seed\(\s*[0-9]+)")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_no_cell_is_allowed_to_raise_and_outputs_are_cleared(path):
    cells = json.loads(path.read_text())["cells"]
    tagged = [i for i, c in enumerate(cells) if "raises-exception" in c.get("metadata", {}).get("tags", [])]
    assert not tagged, f"cells {tagged} carry raises-exception: a stub must say 'not attempted yet', not raise"
    with_output = [i for i, c in enumerate(cells) if c["cell_type"] == "code" and (c["outputs"] or c["execution_count"])]
    assert not with_output, f"cells {with_output} hold outputs: commit notebooks with outputs cleared"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_every_seed_derives_from_the_base_seed(path):
    text = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    literals = SEED_LITERAL.findall(text)
    assert not literals, f"seed literals {literals[:5]}: derive every seed from SEED = base_seed()"
    assert "base_seed()" in text
