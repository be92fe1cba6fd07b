<?php
// finance VM settings
$ts_db = "host=10.0.10.23 dbname=timesheets user=finance";
$hr_db = "host=10.0.10.42 dbname=hrdb";
$archive = 'pgsql://10.0.10.130:5432/archives';
$map_db = "host=192.168.98.24";
$not_finance = "10.0.10.480"; // a longer address that must stay
