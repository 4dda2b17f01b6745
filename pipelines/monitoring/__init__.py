"""The monitoring pipeline: hourly drift checks of an endpoint's capture, without Model Monitor."""
