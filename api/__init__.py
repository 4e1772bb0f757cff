"""The seragam-watch service and command line."""
