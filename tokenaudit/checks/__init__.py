"""Statistical checks: one module each, all behind `tokenaudit.checks.base.Check`."""
