"""Use cases: enrolment and deletion of biometric data, identification of kiosk attempts, the
projections of workers and clock assignments, and the gallery kept in step from Kafka."""
