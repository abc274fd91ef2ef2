"""Quality of experience for operators: figures from the event lake (`figures`), staff
alert thresholds checked by beat (`alerts`), the staff console page (`admin`, `charts`)."""
