"""Read-only HTML reports for integrators' pages (SDK showReport and showResults, issue #19)."""
