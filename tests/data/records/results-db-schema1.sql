BEGIN TRANSACTION;
CREATE TABLE measurements (
	id INTEGER NOT NULL, 
	run_id INTEGER NOT NULL, 
	step_index INTEGER NOT NULL, 
	step VARCHAR(64) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	value FLOAT, 
	value_text TEXT NOT NULL, 
	unit VARCHAR(32) NOT NULL, 
	low FLOAT, 
	high FLOAT, 
	expect TEXT, 
	outcome VARCHAR(16) NOT NULL, 
	PRIMARY KEY (id), 
	FOREIGN KEY(run_id) REFERENCES runs (id) ON DELETE CASCADE
);
INSERT INTO "measurements" VALUES(1,1,1,'self_check','supply identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(2,1,1,'self_check','dmm identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(3,1,1,'self_check','meter port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(4,1,1,'self_check','console port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(5,1,1,'self_check','firmware version',NULL,'"1.0.0"','',NULL,NULL,'"1.0.0"','PASS');
INSERT INTO "measurements" VALUES(6,1,1,'self_check','console protocol',NULL,'"1"','',NULL,NULL,'"1"','PASS');
INSERT INTO "measurements" VALUES(7,1,2,'power','current limit',0.25,'0.25','A',0.0,0.26,NULL,'PASS');
INSERT INTO "measurements" VALUES(8,1,2,'power','inrush_current_a',0.121,'0.121','A',0.0,0.25,NULL,'PASS');
INSERT INTO "measurements" VALUES(9,1,2,'power','idle_current_a',0.08403,'0.08403','A',0.02,0.15,NULL,'PASS');
INSERT INTO "measurements" VALUES(10,1,2,'power','supply_voltage_v',4.9983,'4.9983','V',4.9,5.1,NULL,'PASS');
INSERT INTO "measurements" VALUES(11,1,3,'rails','rail_3v3_v',3.2953,'3.2953','V',3.2,3.4,NULL,'PASS');
INSERT INTO "measurements" VALUES(12,1,3,'rails','firmware asserts Data Request',NULL,'"DRQ 1"','',NULL,NULL,'"DRQ 1"','PASS');
INSERT INTO "measurements" VALUES(13,1,3,'rails','drq_v',4.9161,'4.9161','V',4.0,5.5,NULL,'PASS');
INSERT INTO "measurements" VALUES(14,1,4,'loopback','line rate: reports',6.0,'6','telegrams',6.0,6.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(15,1,4,'loopback','line rate: echo byte-identical',6.0,'6','telegrams',6.0,6.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(16,1,4,'loopback','line rate: board CRC verdict ok',6.0,'6','telegrams',6.0,6.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(17,1,4,'loopback','line rate: dsmr_parser fields match',6.0,'6','telegrams',6.0,6.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(18,1,4,'loopback','line rate: byte errors',0.0,'0','bytes',0.0,0.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(19,1,4,'loopback','one every 1 s: reports',3.0,'3','telegrams',3.0,3.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(20,1,4,'loopback','one every 1 s: echo byte-identical',3.0,'3','telegrams',3.0,3.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(21,1,4,'loopback','one every 1 s: board CRC verdict ok',3.0,'3','telegrams',3.0,3.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(22,1,4,'loopback','one every 1 s: dsmr_parser fields match',3.0,'3','telegrams',3.0,3.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(23,1,4,'loopback','one every 1 s: byte errors',0.0,'0','bytes',0.0,0.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(24,1,5,'negatives','wrong CRC flagged',NULL,'"crc-error"','',NULL,NULL,'"crc-error"','PASS');
INSERT INTO "measurements" VALUES(25,1,5,'negatives','truncated telegram flagged',NULL,'"truncated"','',NULL,NULL,'"truncated"','PASS');
INSERT INTO "measurements" VALUES(26,1,5,'negatives','garbage bytes counted',256.0,'256','bytes',256.0,256.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(27,1,5,'negatives','telegram after garbage',NULL,'"ok"','',NULL,NULL,'"ok"','PASS');
INSERT INTO "measurements" VALUES(28,1,5,'negatives','lower-case CRC accepted and reported',NULL,'"ok/case=lower"','',NULL,NULL,'"ok/case=lower"','PASS');
INSERT INTO "measurements" VALUES(29,1,5,'negatives','over-long frame flagged',NULL,'"overflow"','',NULL,NULL,'"overflow"','PASS');
INSERT INTO "measurements" VALUES(30,1,5,'negatives','non-inverted input diagnosed',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(31,1,6,'throughput','throughput run: reports',30.0,'30','telegrams',30.0,30.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(32,1,6,'throughput','throughput run: byte errors',0.0,'0','bytes',0.0,0.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(33,1,6,'throughput','throughput',11494.1,'11494.1','bytes/s',NULL,NULL,NULL,'PASS');
INSERT INTO "measurements" VALUES(34,1,6,'throughput','ratio to line rate',0.9978,'0.9978','',0.97,1.02,NULL,'PASS');
INSERT INTO "measurements" VALUES(35,2,1,'self_check','supply identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(36,2,1,'self_check','dmm identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(37,2,1,'self_check','meter port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(38,2,1,'self_check','console port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(39,2,1,'self_check','firmware version',NULL,'"1.0.0"','',NULL,NULL,'"1.0.0"','PASS');
INSERT INTO "measurements" VALUES(40,2,1,'self_check','console protocol',NULL,'"1"','',NULL,NULL,'"1"','PASS');
INSERT INTO "measurements" VALUES(41,2,2,'power','current limit',0.25,'0.25','A',0.0,0.26,NULL,'PASS');
INSERT INTO "measurements" VALUES(42,2,2,'power','inrush_current_a',0.25,'0.25','A',0.0,0.25,NULL,'MARGINAL');
INSERT INTO "measurements" VALUES(43,2,2,'power','idle_current_a',0.2498,'0.2498','A',0.02,0.15,NULL,'FAIL');
INSERT INTO "measurements" VALUES(44,2,2,'power','supply_voltage_v',1.82,'1.82','V',4.9,5.1,NULL,'FAIL');
INSERT INTO "measurements" VALUES(45,3,1,'self_check','supply identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(46,3,1,'self_check','dmm identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(47,3,1,'self_check','meter port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(48,3,1,'self_check','console port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(49,3,1,'self_check','firmware version',NULL,'"1.2.0"','',NULL,NULL,'"1.2.0"','PASS');
INSERT INTO "measurements" VALUES(50,3,1,'self_check','console protocol',NULL,'"3"','',NULL,NULL,'"3"','PASS');
INSERT INTO "measurements" VALUES(51,3,2,'power','current limit',0.25,'0.25','A',0.0,0.26,NULL,'PASS');
INSERT INTO "measurements" VALUES(52,3,2,'power','inrush_current_a',0.121,'0.121','A',0.0,0.25,NULL,'PASS');
INSERT INTO "measurements" VALUES(53,3,2,'power','idle_current_a',0.08573,'0.08573','A',0.02,0.15,NULL,'PASS');
INSERT INTO "measurements" VALUES(54,3,2,'power','supply_voltage_v',5.005,'5.005','V',4.9,5.1,NULL,'PASS');
INSERT INTO "measurements" VALUES(55,3,3,'rails','rail_3v3_v',3.3001,'3.3001','V',3.2,3.4,NULL,'PASS');
INSERT INTO "measurements" VALUES(56,3,3,'rails','firmware asserts Data Request',NULL,'"DRQ 1"','',NULL,NULL,'"DRQ 1"','PASS');
INSERT INTO "measurements" VALUES(57,3,3,'rails','drq_v',4.9028,'4.9028','V',4.0,5.5,NULL,'PASS');
INSERT INTO "measurements" VALUES(58,3,4,'loopback','line rate: reports',3.0,'3','telegrams',3.0,3.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(59,3,4,'loopback','line rate: echo byte-identical',3.0,'3','telegrams',3.0,3.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(60,3,4,'loopback','line rate: board CRC verdict ok',3.0,'3','telegrams',3.0,3.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(61,3,4,'loopback','line rate: dsmr_parser fields match',3.0,'3','telegrams',3.0,3.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(62,3,4,'loopback','line rate: byte errors',0.0,'0','bytes',0.0,0.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(63,3,4,'loopback','one every 0.1 s: reports',2.0,'2','telegrams',2.0,2.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(64,3,4,'loopback','one every 0.1 s: echo byte-identical',2.0,'2','telegrams',2.0,2.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(65,3,4,'loopback','one every 0.1 s: board CRC verdict ok',2.0,'2','telegrams',2.0,2.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(66,3,4,'loopback','one every 0.1 s: dsmr_parser fields match',2.0,'2','telegrams',2.0,2.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(67,3,4,'loopback','one every 0.1 s: byte errors',0.0,'0','bytes',0.0,0.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(68,3,5,'negatives','wrong CRC flagged',NULL,'"crc-error"','',NULL,NULL,'"crc-error"','PASS');
INSERT INTO "measurements" VALUES(69,3,5,'negatives','truncated telegram flagged',NULL,'"truncated"','',NULL,NULL,'"truncated"','PASS');
INSERT INTO "measurements" VALUES(70,3,5,'negatives','garbage bytes counted',256.0,'256','bytes',256.0,256.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(71,3,5,'negatives','telegram after garbage',NULL,'"ok"','',NULL,NULL,'"ok"','PASS');
INSERT INTO "measurements" VALUES(72,3,5,'negatives','lower-case CRC accepted and reported',NULL,'"ok/case=lower"','',NULL,NULL,'"ok/case=lower"','PASS');
INSERT INTO "measurements" VALUES(73,3,5,'negatives','over-long frame flagged',NULL,'"overflow"','',NULL,NULL,'"overflow"','PASS');
INSERT INTO "measurements" VALUES(74,3,5,'negatives','non-inverted input diagnosed',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(75,3,6,'throughput','throughput run: reports',8.0,'8','telegrams',8.0,8.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(76,3,6,'throughput','throughput run: byte errors',0.0,'0','bytes',0.0,0.0,NULL,'PASS');
INSERT INTO "measurements" VALUES(77,3,6,'throughput','throughput',11421.9,'11421.9','bytes/s',NULL,NULL,NULL,'PASS');
INSERT INTO "measurements" VALUES(78,3,6,'throughput','ratio to line rate',0.9915,'0.9915','',0.0,1.05,NULL,'PASS');
INSERT INTO "measurements" VALUES(79,4,1,'self_check','supply identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(80,4,1,'self_check','dmm identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(81,4,1,'self_check','meter port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(82,4,1,'self_check','console port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(83,4,1,'self_check','firmware version',NULL,'"1.2.0"','',NULL,NULL,'"1.2.0"','PASS');
INSERT INTO "measurements" VALUES(84,4,1,'self_check','console protocol',NULL,'"3"','',NULL,NULL,'"3"','PASS');
INSERT INTO "measurements" VALUES(85,4,2,'power','current limit',0.25,'0.25','A',0.0,0.26,NULL,'PASS');
INSERT INTO "measurements" VALUES(86,4,2,'power','inrush_current_a',0.25,'0.25','A',0.0,0.25,NULL,'MARGINAL');
INSERT INTO "measurements" VALUES(87,4,2,'power','idle_current_a',0.2498,'0.2498','A',0.02,0.15,NULL,'FAIL');
INSERT INTO "measurements" VALUES(88,4,2,'power','supply_voltage_v',1.82,'1.82','V',4.9,5.1,NULL,'FAIL');
INSERT INTO "measurements" VALUES(89,5,1,'self_check','supply identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(90,5,1,'self_check','dmm identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(91,5,1,'self_check','meter port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(92,5,1,'self_check','console port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(93,5,1,'self_check','firmware version',NULL,'"1.2.0"','',NULL,NULL,'"1.2.0"','PASS');
INSERT INTO "measurements" VALUES(94,5,1,'self_check','console protocol',NULL,'"3"','',NULL,NULL,'"3"','PASS');
INSERT INTO "measurements" VALUES(95,5,2,'power','current limit',0.25,'0.25','A',0.0,0.26,NULL,'PASS');
INSERT INTO "measurements" VALUES(96,5,2,'power','inrush_current_a',0.121,'0.121','A',0.0,0.25,NULL,'PASS');
INSERT INTO "measurements" VALUES(97,5,2,'power','idle_current_a',0.0844,'0.0844','A',0.02,0.15,NULL,'PASS');
INSERT INTO "measurements" VALUES(98,5,2,'power','supply_voltage_v',5.0018,'5.0018','V',4.9,5.1,NULL,'PASS');
INSERT INTO "measurements" VALUES(99,5,3,'rails','rail_3v3_v',3.2989,'3.2989','V',3.2,3.4,NULL,'PASS');
INSERT INTO "measurements" VALUES(100,5,3,'rails','firmware asserts Data Request',NULL,'"DRQ 1"','',NULL,NULL,'"DRQ 1"','PASS');
INSERT INTO "measurements" VALUES(101,5,3,'rails','drq_v',4.9054,'4.9054','V',4.0,5.5,NULL,'PASS');
INSERT INTO "measurements" VALUES(102,6,1,'self_check','supply identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(103,6,1,'self_check','dmm identifies',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(104,6,1,'self_check','meter port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(105,6,1,'self_check','console port opens',NULL,'true','',NULL,NULL,'true','PASS');
INSERT INTO "measurements" VALUES(106,6,1,'self_check','firmware version',NULL,'"1.2.0"','',NULL,NULL,'"1.2.0"','PASS');
INSERT INTO "measurements" VALUES(107,6,1,'self_check','console protocol',NULL,'"3"','',NULL,NULL,'"3"','PASS');
INSERT INTO "measurements" VALUES(108,6,2,'power','current limit',0.25,'0.25','A',0.0,0.26,NULL,'PASS');
INSERT INTO "measurements" VALUES(109,6,2,'power','inrush_current_a',0.121,'0.121','A',0.0,0.25,NULL,'PASS');
INSERT INTO "measurements" VALUES(110,6,2,'power','idle_current_a',0.0848,'0.0848','A',0.02,0.15,NULL,'PASS');
INSERT INTO "measurements" VALUES(111,6,2,'power','supply_voltage_v',4.9959,'4.9959','V',4.9,5.1,NULL,'PASS');
CREATE TABLE runs (
	id INTEGER NOT NULL, 
	run_uuid VARCHAR(36) NOT NULL, 
	board_serial VARCHAR(64) NOT NULL, 
	station VARCHAR(200) NOT NULL, 
	operator VARCHAR(200) NOT NULL, 
	firmware VARCHAR(64) NOT NULL, 
	harness_version VARCHAR(64) NOT NULL, 
	board_revision VARCHAR(64) NOT NULL, 
	design_commit VARCHAR(64) NOT NULL, 
	outcome VARCHAR(16) NOT NULL, 
	failed_step VARCHAR(100), 
	reason TEXT NOT NULL, 
	started DATETIME NOT NULL, 
	finished DATETIME, 
	record_path TEXT NOT NULL, 
	inject VARCHAR(64), 
	PRIMARY KEY (id), 
	UNIQUE (run_uuid)
);
INSERT INTO "runs" VALUES(1,'38df0d87-ad9c-5ee6-b639-0a590b201ff5','OLD-1','sim','unknown','1.0.0','unknown','unknown','unknown','PASS',NULL,'','2026-12-06 18:57:36.875533','2026-12-06 18:57:44.825371','tests/data/records/schema1/OLD-1/20261206T185736Z.json',NULL);
INSERT INTO "runs" VALUES(2,'f5653b34-aab9-587e-a54a-84c1ce6513ad','OLD-2','sim','unknown','1.0.0','unknown','unknown','unknown','FAIL','2 power','idle_current_a = 0.2498 A (limits 0.02 … 0.15 A): supply in current limit (0.25 A): over-current, short on +5 V?','2026-12-06 18:57:44.953801','2026-12-06 18:57:45.366732','tests/data/records/schema1/OLD-2/20261206T185744Z.json','over-current');
INSERT INTO "runs" VALUES(3,'42594b01-98d3-4674-9428-6069b7f8cc5e','NEW-1','sim-fast','ann','1.2.0','0.1.0','1.3','unknown','PASS',NULL,'','2026-12-06 19:42:31.015055','2026-12-06 19:42:34.503405','tests/data/records/schema2/NEW-1/20261206T194231Z.json',NULL);
INSERT INTO "runs" VALUES(4,'27301a69-13a1-434d-8de9-1ec074d0e563','NEW-2','sim-fast','ann','1.2.0','0.1.0','1.3','unknown','FAIL','2 power','idle_current_a = 0.2498 A (limits 0.02 … 0.15 A): supply in current limit (0.25 A): over-current, short on +5 V?','2026-12-06 19:42:34.520199','2026-12-06 19:42:35.128678','tests/data/records/schema2/NEW-2/20261206T194234Z.json','over-current');
INSERT INTO "runs" VALUES(5,'8ffbe878-007e-48e8-bd66-f1c18f77ef20','NEW-3','sim-fast','ann','1.2.0','0.1.0','1.3','unknown','ABORTED','4 loopback','aborted by operator (Ctrl-C)','2026-12-06 19:42:35.132421','2026-12-06 19:42:35.806420','tests/data/records/schema2/NEW-3/20261206T194235Z.json',NULL);
INSERT INTO "runs" VALUES(6,'e9f8c656-2dea-4850-a7d9-4a03e91bc2f2','NEW-4','sim-fast','ann','1.2.0','0.1.0','1.3','unknown','FAIL','3 rails','internal error: RuntimeError: a harness bug','2026-12-06 19:42:35.821299','2026-12-06 19:42:36.458435','tests/data/records/schema2/NEW-4/20261206T194235Z.json',NULL);
INSERT INTO "runs" VALUES(7,'b17457ab-dfdb-49fa-8351-b276359006ca','NEW-5','sim-fast','ann','unknown','0.1.0','1.3','unknown','FAIL','0 setup','SimError: socat not found on PATH (apt-get install socat)','2026-12-06 19:42:36.474912','2026-12-06 19:42:36.490436','tests/data/records/schema2/NEW-5/20261206T194236Z.json',NULL);
CREATE TABLE schema_version (
	version INTEGER NOT NULL
);
INSERT INTO "schema_version" VALUES(1);
CREATE INDEX ix_runs_board_serial ON runs (board_serial);
CREATE INDEX ix_measurements_run_id ON measurements (run_id);
COMMIT;
