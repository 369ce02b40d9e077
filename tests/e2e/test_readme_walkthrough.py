"""The README's purchase walk-through, run as written on top of `make run`.

`make run` is started for real (its demo data, its local Stripe from scratch, gunicorn) on
free ports and a database of its own; the shell blocks of the README's "Buying a license on
one machine" section are then run verbatim by bash, with `KEY` set to the admin key
`make run` printed. The README and the service cannot drift apart.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import subprocess
import time
from pathlib import Path

from tests.e2e.conftest import MakeRun, http, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
SECTION = "## Buying a license on one machine"


def walkthrough_blocks(readme: str) -> list[str]:
    """The ```sh blocks between the section's heading and the next heading of its level."""
    section = readme.split(SECTION, 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^```sh\n(.*?)^```$", section, flags=re.MULTILINE | re.DOTALL)


def test_readme_walkthrough_runs_verbatim_on_make_run(make_run: MakeRun, tmp_path: Path) -> None:
    blocks = walkthrough_blocks((ROOT / "README.md").read_text())
    assert len(blocks) >= 3, "the walk-through's shell blocks were not found"
    script = tmp_path / "walkthrough.sh"
    # The blocks as they are, then the ids they found, for the checks below.
    script.write_text(
        "set -euo pipefail\n"
        + "\n".join(blocks)
        + '\necho "WALKTHROUGH customer=$CUSTOMER order=$ORDER_ID license=$LICENSE"\n'
    )
    env = {**os.environ, "KEY": make_run.key, "API": make_run.api, "STRIPE": make_run.stripe}
    run = subprocess.run(
        ["bash", str(script)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert run.returncode == 0, f"stdout:\n{run.stdout}\nstderr:\n{run.stderr}"
    found = re.search(r"WALKTHROUGH customer=(\d+) order=(\d+) license=(\S+)", run.stdout)
    assert found, run.stdout
    # Step 8: a certificate (its JWS header starts `{"alg":"EdDSA",`) and the key set.
    assert "eyJhbGciOiJFZERTQSIs" in run.stdout and '"Ed25519"' in run.stdout, run.stdout
    customer_id, order_id, license_key = int(found[1]), int(found[2]), found[3]

    # The new customer's paid order and license, not a demo customer's.
    status, order = http("GET", f"{make_run.api}/v1/orders/{order_id}", key=make_run.key)
    assert status == 200
    assert (order["status"], order["license_key"]) == ("paid", license_key)
    status, license_ = http("GET", f"{make_run.api}/v1/licenses/{license_key}", key=make_run.key)
    assert status == 200
    assert license_["customer_id"] == customer_id
    assert license_["status"] == "active"
    status, customer = http("GET", f"{make_run.api}/v1/customers/{customer_id}", key=make_run.key)
    assert customer["name"] == "Ada Lovelace"
    # The last step's validate answer: valid, and the current release may be installed.
    assert '"code": "VALID"' in run.stdout or '"code":"VALID"' in run.stdout
    assert '"update_allowed":true' in run.stdout.replace(" ", "")


def test_d25_make_run_keeps_the_mail_where_the_readme_says(
    make_run: MakeRun, tmp_path: Path
) -> None:
    """`make run`'s SMTP catcher keeps what its worker sends as one .eml file each, in
    `<RUN_DIR>/mail/`, and the links in it point at the served address (PUBLIC_URL)."""
    status, customer = http(
        "POST",
        f"{make_run.api}/v1/customers",
        key=make_run.key,
        body=json.dumps({"email": "Mary@Example.com", "name": "Mary"}).encode(),
    )
    assert status == 201
    wait_for_port(make_run.smtp_port, timeout=30)
    body = {
        "customer_id": customer["id"],
        "edition": "pro",
        "domain": "mary.example.com",
        "purchased_at": "2026-01-15T10:00:00Z",
        "channel": "direct",
    }
    status, license_ = http(
        "POST",
        f"{make_run.api}/v1/licenses/import",
        key=make_run.key,
        body=json.dumps(body).encode(),
    )
    assert status == 201
    # No command typed: make run's worker sends the outbox every 5 s (D25); the demo
    # licenses' reminders go out beside Mary's email.
    deadline = time.monotonic() + 60
    while not (mine := mail_to("mary@example.com", tmp_path / "mail")):
        assert time.monotonic() < deadline, "no email reached mary@example.com"
        time.sleep(0.2)
    [message] = mine
    text = message.get_body(("plain",)).get_content()
    assert license_["key"] in text
    assert f"{make_run.api}/account" in text


def mail_to(recipient: str, folder: Path) -> list[email.message.EmailMessage]:
    """The messages kept in `folder` (one .eml file each) that are addressed to `recipient`."""
    messages = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(folder.glob("*.eml"))
    ]
    return [message for message in messages if message["To"] == recipient]
