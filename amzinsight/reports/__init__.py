"""One module per report type; the registry below is the list a reader scans."""
