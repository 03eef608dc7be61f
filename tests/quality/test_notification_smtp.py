"""One notification email through a real SMTP server: aiosmtpd, started as its own process
by the test (``python -m aiosmtpd``, storing what it receives in a maildir) and stopped
after it. The other notification tests use Django's locmem backend. Under
REQUIRE_SERVICES=1 (CI) a server that does not start fails the test instead of skipping it.
"""

from __future__ import annotations

import mailbox
import socket
import subprocess
import sys
import time
from email.header import decode_header, make_header

import pytest

from quality import services
from tests.builders import build_casebook
from tests.conftest import service_missing

QUESTION = "Weight 65 kg against 63 kg in the letter of Mr Sample; which is right?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen, seconds: float = 15) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@pytest.fixture
def smtp_server(tmp_path):
    """(port, maildir) of a running aiosmtpd process that stores each message it accepts."""
    maildir = tmp_path / "maildir"
    port = _free_port()
    command = [sys.executable, "-m", "aiosmtpd", "-n", "-l", f"127.0.0.1:{port}"]
    command += ["-c", "aiosmtpd.handlers.Mailbox", str(maildir)]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    except OSError as error:
        service_missing(f"aiosmtpd ({error})")
    try:
        if not _wait_for(port, process):
            process.kill()
            output = process.communicate(timeout=5)[0].decode(errors="replace")
            service_missing(f"an aiosmtpd SMTP server on port {port}: {output[-500:]}")
        yield port, maildir
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.django_db
def test_query_opened_email_reaches_a_real_smtp_server(
    smtp_server, settings, coordinator_a, data_manager, django_capture_on_commit_callbacks
):
    port, maildir = smtp_server
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.DEFAULT_FROM_EMAIL = "registry@hospital.example"
    coordinator_a.email = "alice@hospital.example"
    coordinator_a.save(update_fields=["email"])
    with django_capture_on_commit_callbacks(execute=True):
        patient = build_casebook(coordinator_a, complete=True)
    with django_capture_on_commit_callbacks(execute=True):
        query = services.query_raise(
            user=data_manager, patient=patient, section="baseline", field="weight_kg", text=QUESTION
        )

    messages = list(mailbox.Maildir(maildir, create=False))
    assert len(messages) == 1
    message = messages[0]
    assert message["To"] == "alice@hospital.example"
    assert message["From"] == "registry@hospital.example"
    subject = str(make_header(decode_header(message["Subject"])))
    assert (
        subject == f"[Registry] Query opened on your centre: query {query.pk} on {patient.study_id}"
    )
    body = message.get_payload(decode=True).decode()
    assert f"http://127.0.0.1:8000/quality/queries/{query.pk}/" in body
    assert QUESTION not in body and patient.mrn not in body
