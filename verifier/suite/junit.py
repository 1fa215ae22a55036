"""A suite run's outcomes as JUnit XML (`tlbcheck suite --junit FILE`)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence

from verifier.suite.runner import ERROR, FAIL, INCONCLUSIVE, OK, Outcome, failure_text

_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")  # not allowed in XML 1.0


def _xml_text(text: str) -> str:
    return _XML_BAD.sub("?", text)


def junit_xml(outcomes: Sequence[Outcome], seconds: float = 0.0) -> bytes:
    """JUnit XML: a testcase per outcome (classname = spec path, name = model);
    mismatches and inconclusive runs are failures, bad input and crashes errors."""
    failures = sum(o.status in (FAIL, INCONCLUSIVE) for o in outcomes)
    errors = sum(o.status == ERROR for o in outcomes)
    counts = {
        "tests": str(len(outcomes)),
        "failures": str(failures),
        "errors": str(errors),
        "skipped": "0",
        "time": f"{seconds:.3f}",
    }
    top = ET.Element("testsuites", {"name": "tlbcheck", **counts})
    suite = ET.SubElement(top, "testsuite", {"name": "tlbcheck suite", **counts})
    for o in outcomes:
        case = ET.SubElement(
            suite,
            "testcase",
            {
                "classname": o.path,
                "name": " ".join([o.model, *(f"-D {d}" for d in o.defines)]),
                "time": f"{o.result.seconds:.3f}" if o.result else "0.000",
            },
        )
        if o.status == OK:
            continue
        if o.status == ERROR:
            msg = "bad input" if o.bad_input else "internal error"
            el = ET.SubElement(case, "error", {"message": msg, "type": "error"})
        else:
            msg = f"expected {o.expected}, got {o.got}"
            kind = "mismatch" if o.status == FAIL else o.status
            el = ET.SubElement(case, "failure", {"message": msg, "type": kind})
        el.text = _xml_text(failure_text(o))
    ET.indent(top)
    data: bytes = ET.tostring(top, encoding="utf-8", xml_declaration=True) + b"\n"
    ET.fromstring(data)  # it must parse
    return data
