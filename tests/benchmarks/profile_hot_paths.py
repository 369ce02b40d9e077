"""Where a hot-path request's time goes: pyinstrument over N in-process requests.

    .venv/bin/python tests/benchmarks/profile_hot_paths.py [validate|entitlements] [N]

PostgreSQL at TEST_DATABASE_URL, in a schema of its own with a small demo data set (the
per-request work does not depend on the table size: every lookup is an index lookup).
"""

from __future__ import annotations

import logging
import os
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from flask_migrate import upgrade
from pyinstrument import Profiler

from licensing import create_app, demo_data
from licensing.adapters.models import License
from licensing.extensions import db
from licensing.services.api_keys import create_api_key
from licensing.settings import Settings

URL = os.environ.get("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 26, tzinfo=UTC)


def main(path: str, count: int) -> None:
    schema = f"profile_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    url = sa.make_url(URL).update_query_dict({"options": f"-csearch_path={schema}"})
    app = create_app(
        Settings.from_env({}).replace(
            database_url=url.render_as_string(hide_password=False), validate_rate_limit="off"
        )
    )
    logging.getLogger("licensing").setLevel(logging.WARNING)
    try:
        with app.app_context():
            upgrade()
            demo_data.generate(licenses=2000, seed=3, now=NOW)
            _, key = create_api_key(name="profile", scopes=["helpdesk"], now=NOW)
            license = db.session.execute(sa.select(License).limit(1)).scalar_one()
            body = {"key": license.key, "domain": license.domain}
            query = f"customer_id={license.customer_id}&department=technical_support&domain={license.domain}"
            db.session.remove()
        client = app.test_client()

        def call() -> int:
            if path == "validate":
                return client.post("/v1/licenses/validate", json=body).status_code
            headers = {"Authorization": f"Bearer {key}"}
            return client.get(f"/v1/entitlements?{query}", headers=headers).status_code

        assert call() == 200
        profiler = Profiler(interval=0.0005)
        profiler.start()
        for _ in range(count):
            call()
        profiler.stop()
        print(profiler.output_text(unicode=False, color=False, show_all=False))
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "entitlements",
        int(sys.argv[2]) if len(sys.argv) > 2 else 2000,
    )
