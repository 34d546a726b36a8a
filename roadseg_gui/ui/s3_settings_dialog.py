"""S3 settings in the app: destination, profile, region, endpoint and encryption, checked the way
`roadseg sync` checks them (core.settings.validate_s3_settings) before anything is saved.

Credentials are never asked for or stored: the profile name picks them from the standard AWS chain.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from PySide6.QtWidgets import (QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit,
                               QVBoxLayout)

from roadseg_gui.core.settings import S3Settings, WorkspaceSettings, validate_s3_settings

from .workers import failure_from

SSE_LABELS = (("none", ""), ("AES256 (S3-managed keys)", "AES256"), ("aws:kms (KMS key)", "aws:kms"))


def s3_settings_with_destination(s3: S3Settings, destination: str) -> S3Settings:
    """A copy of ``s3`` pointing at ``destination`` (s3://BUCKET/PREFIX); an empty text keeps none."""
    from roadseg_gui.core.sync.client import parse_s3_uri

    text = destination.strip()
    if not text:
        return dataclasses.replace(s3, bucket="")
    parsed = parse_s3_uri(text)
    return dataclasses.replace(s3, bucket=parsed.bucket, prefix=parsed.prefix)


def known_profiles() -> list[str]:
    try:
        import botocore.session

        return sorted(botocore.session.Session().available_profiles)
    except Exception:  # noqa: BLE001 - no AWS config at all is normal: the list is a convenience
        return []


class S3SettingsDialog(QDialog):
    """Edits one workspace's S3 settings; ``accept()`` only after they validate and are saved."""

    def __init__(self, root: str | Path, destination: str = "", parent=None):
        super().__init__(parent)
        self.setWindowTitle("S3 settings")
        self.root = Path(root)
        self.settings = WorkspaceSettings.load(self.root)
        s3 = self.settings.s3
        self.destination = QLineEdit(destination or s3.uri)
        self.destination.setPlaceholderText("s3://BUCKET/PREFIX")
        self.profile = QComboBox()
        self.profile.setEditable(True)
        self.profile.addItems([""] + known_profiles())
        self.profile.setCurrentText(s3.profile)
        self.profile.setToolTip("A profile from ~/.aws/config or ~/.aws/credentials; empty: the default chain "
                                "(environment, SSO, instance role)")
        self.region = QLineEdit(s3.region)
        self.region.setPlaceholderText("e.g. eu-west-1 (empty: the profile's region)")
        self.endpoint = QLineEdit(s3.endpoint_url)
        self.endpoint.setPlaceholderText("only for S3-compatible stores, e.g. http://127.0.0.1:9000")
        self.sse = QComboBox()
        for label, value in SSE_LABELS:
            self.sse.addItem(label, value)
        self.sse.setCurrentIndex(max(0, self.sse.findData(s3.sse)))
        self.kms_key = QLineEdit(s3.kms_key_id)
        self.kms_key.setPlaceholderText("KMS key id or ARN (empty: the bucket's default key)")
        self.sse.currentIndexChanged.connect(lambda _i: self.kms_key.setEnabled(self.sse.currentData() == "aws:kms"))
        self.kms_key.setEnabled(self.sse.currentData() == "aws:kms")
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #e57373;")
        form = QFormLayout()
        for label, widget in (("Destination", self.destination), ("AWS profile", self.profile),
                              ("Region", self.region), ("Endpoint URL", self.endpoint),
                              ("Encryption", self.sse), ("KMS key", self.kms_key)):
            form.addRow(label, widget)
        buttons = QDialogButtonBox(QDialogButtonBox.Save | QDialogButtonBox.Cancel)
        buttons.accepted.connect(self.save)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(QLabel("Credentials come from the profile or the standard AWS chain; "
                                "none are stored by roadseg."))
        layout.addWidget(self.error)
        layout.addWidget(buttons)

    def edited(self) -> S3Settings:
        """The settings as typed (may raise a RoadsegError for a malformed destination)."""
        s3 = dataclasses.replace(self.settings.s3, profile=self.profile.currentText().strip(),
                                 region=self.region.text().strip(), endpoint_url=self.endpoint.text().strip(),
                                 sse=self.sse.currentData(),
                                 kms_key_id=self.kms_key.text().strip() if self.sse.currentData() == "aws:kms"
                                 else "")
        return s3_settings_with_destination(s3, self.destination.text())

    def save(self) -> None:
        try:
            s3 = self.edited()
            validate_s3_settings(s3)
            self.settings.s3 = s3
            self.settings.save(self.root)
        except Exception as exc:  # noqa: BLE001 - shown in the dialog, which stays open
            self.error.setText(failure_from(exc).sentence())
            return
        self.error.setText("")
        self.accept()
