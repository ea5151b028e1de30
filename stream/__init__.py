"""supportpulse: live customer-support health from ticket events in Kafka to Prometheus."""
