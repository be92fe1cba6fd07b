<?php
$finance_db = "host=10.0.10.48 port=5432";
$broker = "amqp://10.0.10.107";
