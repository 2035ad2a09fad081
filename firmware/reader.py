"""The reader app: P1 telegrams to MQTT (Home Assistant discovery), raw telegrams on TCP, state over HTTP, the
capacity tariff, nothing lost while the broker is away. The same file runs on the D32 and under the MicroPython
unix port (`p1reader reader run`); the hardware is behind `seam`.

One asyncio event loop runs five tasks: the UART reader, MQTT, the TCP server, the HTTP server (microdot) and a
one-second tick (diagnostics, watchdog, console line). MQTT uses umqtt.simple's blocking calls on a socket with a
100 ms timeout, so no task holds the loop longer than that; the UART's 4096-byte buffer covers it.

Console lines (USB on the board, stdout on the host): `@D` each second (counters), `@Q` per closed quarter.
"""

import gc
import json
import sys
import time

import asyncio

import config as configuration
import display
import entities
import p1frame
import reading
import ring
import s1frame
import seam
from umqtt.simple import MQTTClient

IDLE_MS = p1frame.IDLE_MS
NO_DATA_S = 30  # a line silent this long: the `no-data` status
SOCKET_TIMEOUT_S = 0.1  # the most an MQTT call may hold the loop
BACKOFF_S = (1, 60)  # MQTT reconnect backoff, doubling
SLOW_CLIENT_MS = 200  # a TCP client that cannot take a telegram this fast is closed
TCP_QUEUE_BYTES = 2 * p1frame.MAX_TELEGRAM  # what may wait for one client (telegrams read in one go)
UNSEEN_S = 86400  # a field not sent for a day: its discovery config is cleared
NO_DATA = "no-data: no telegram for 30 s (is Data Request on? the cable in P1? the line inverted?)"


class TcpClient:
    def __init__(self, writer):
        self.writer = writer
        self.queue = []
        self.ready = asyncio.Event()
        self.closed = False


class Reader:
    def __init__(self, cfg, hw):
        self.cfg, self.hw = cfg, hw
        self.base = cfg["base"]
        self.framer = p1frame.Framer()
        self.meter = reading.Reading(int(cfg["cap_kw"] * 1000), hw.state_dir + "/registers.json")
        self.ring = ring.Ring(hw.state_dir + "/quarters.jsonl", cfg["ring_bytes"])
        self.pending = {}  # topic below the base → payload, the latest of each (live state is never queued)
        self.configs = {}  # object id → unit, discovery configs published
        self.client = None
        self.backoff = BACKOFF_S[0]
        self.next_try = 0
        self.last_ping = 0
        self.ha_online = False
        self.last_telegram = None
        self.last_rx_ms = time.ticks_ms()
        self.tcp = []
        self.s1 = s1frame.Counter() if hw.has_s1() else None
        address = display.find(hw.i2c)
        self.display = display.Display(hw.i2c, address) if address is not None else None
        self.diag = {"telegrams_ok": 0, "crc_errors": 0, "reconnects": 0, "slow_clients": 0, "published": 0}
        self.device = {"identifiers": [cfg["node"]], "name": "P1 reader " + cfg["node"], "manufacturer": "p1reader",
                       "model": "p1reader (Lolin D32)", "sw_version": p1frame.FIRMWARE_VERSION}

    # --- the UART ---------------------------------------------------------------------------------------------
    async def uart_task(self):
        while True:
            try:
                data = self.hw.uart_read()
            except OSError:  # the host's pty closed: the meter is gone for good
                return
            if data:
                self.last_rx_ms = time.ticks_ms()
                reports = self.framer.feed(data)
            elif self.framer.in_frame and time.ticks_diff(time.ticks_ms(), self.last_rx_ms) > IDLE_MS:
                reports = self.framer.idle()
            else:
                reports = ()
            for report in reports:
                self.on_report(report)
            await asyncio.sleep_ms(1 if data else 5)

    def on_report(self, report):
        if report.telegram:
            self.broadcast(report.telegram)
        if report.verdict not in ("ok", "ok-nocrc"):
            self.diag["crc_errors"] += report.verdict == "crc-error"
            return
        self.diag["telegrams_ok"] += 1
        self.last_telegram = report.telegram
        self.pending.update(self.meter.take(report.telegram))
        for quarter in self.meter.closed:
            self.ring.push(quarter)
            print("@Q end=%s average_kw=%s peak_kw=%s alerts=%d queued=%d" % (
                quarter["end"], quarter["average_kw"], quarter["peak_so_far_kw"], self.meter.alerts,
                len(self.ring.records)))
        self.meter.closed = []

    async def s1_task(self):
        """p1s1 boards: the S1 port's frames counted as they come (the counters go out with the tick)."""
        while True:
            data = self.hw.s1_read()
            if data:
                self.s1.feed(data)
            await asyncio.sleep_ms(0 if data else 2)

    def s1_state(self):
        c = self.s1
        state = {"s1/frames": str(c.frames), "s1/fcs_errors": str(c.fcs_errors), "s1/seq_gaps": str(c.seq_gaps),
                 "s1/skipped": str(c.skipped)}
        if c.freq_mhz is not None:
            state["s1/frequency_hz"] = reading.kw(c.freq_mhz)  # mHz → Hz with three decimals
        return state

    # --- MQTT -------------------------------------------------------------------------------------------------
    def connect(self):
        host, port = configuration.broker_address(self.cfg["broker"])
        client = MQTTClient(self.cfg["node"], host, port, self.cfg["mqtt_user"] or None,
                            self.cfg["mqtt_password"] or None, keepalive=int(self.cfg["keepalive_s"]))
        client.set_last_will((self.base + "/status").encode(), b"offline", retain=True)
        client.set_callback(self.on_message)
        client.connect(timeout=SOCKET_TIMEOUT_S)  # a LAN answers in milliseconds; a dead host costs 100 ms a try
        client.sock.settimeout(SOCKET_TIMEOUT_S)
        self.client = client
        self.publish("status", "online", retain=True)
        client.subscribe(b"homeassistant/status")
        self.configs = {}
        self.last_ping = time.ticks_ms()

    def on_message(self, topic, message):
        if topic == b"homeassistant/status" and message == b"online":
            self.configs = {}  # Home Assistant restarted: publish every config again

    def publish(self, topic, payload, retain=False, qos=0, absolute=False):
        """One message; topic and payload as UTF-8 bytes (umqtt counts a str's characters, not its bytes)."""
        topic = topic if absolute else self.base + "/" + topic
        self.client.publish(topic.encode(), payload.encode(), retain, qos)

    def publish_some(self):
        """Configs, then state, then one ring record: a slice, so the loop turns between slices."""
        for object_id, unit in self.meter.units.items():
            if self.configs.get(object_id, "-") != unit:
                topic, payload = entities.config(object_id, unit, self.base, self.cfg["node"], self.device)
                self.publish(topic, payload, retain=True, absolute=True)
                self.configs[object_id] = unit
        for _ in range(16):
            if not self.pending:
                break
            topic = next(iter(self.pending))
            self.publish(topic, self.pending.pop(topic))
            self.diag["published"] += 1
        while self.meter.events:
            self.publish("event/alert", self.meter.events.pop(0))
        record = self.ring.first()
        if record is not None:
            self.publish("quarter/history", record, qos=1)
            self.ring.pop()

    def keep_alive(self):
        self.client.check_msg()
        self.client.sock.settimeout(SOCKET_TIMEOUT_S)  # check_msg leaves the socket blocking
        if time.ticks_diff(time.ticks_ms(), self.last_ping) > self.cfg["keepalive_s"] * 500:
            self.client.ping()
            self.last_ping = time.ticks_ms()

    async def mqtt_task(self):
        while True:
            try:
                if self.client is None and time.time() >= self.next_try:
                    self.next_try = time.time() + self.backoff
                    if self.hw.wifi_up(self.cfg):
                        self.connect()
                        self.backoff = BACKOFF_S[0]
                if self.client is not None:
                    self.publish_some()
                    self.keep_alive()
            except (OSError, AssertionError, IndexError) as e:  # the broker went away: reconnect later
                self.drop_client(e)
            await asyncio.sleep_ms(2 if self.pending else 20)

    def drop_client(self, why):
        print("@M mqtt: %r; next try in %d s" % (why, self.backoff))
        if self.client is not None:
            self.diag["reconnects"] += 1
            try:
                self.client.sock.close()
            except OSError:
                pass
        self.client = None
        self.backoff = min(self.backoff * 2, BACKOFF_S[1])

    # --- raw telegrams on TCP ---------------------------------------------------------------------------------
    async def tcp_client(self, stream_in, stream_out):
        self.hw.small_send_buffer(stream_out.s)
        client = TcpClient(stream_out)
        self.tcp.append(client)
        asyncio.create_task(self.tcp_sender(client))
        try:
            while not client.closed and await stream_in.read(64):
                pass  # a client has nothing to say; reading notices it leaving
        except OSError:
            pass
        self.close_tcp(client)

    async def tcp_sender(self, client):
        while not client.closed:
            await client.ready.wait()
            client.ready.clear()
            while client.queue and not client.closed:
                client.writer.write(client.queue.pop(0))
                try:
                    await asyncio.wait_for_ms(client.writer.drain(), SLOW_CLIENT_MS)
                except (asyncio.TimeoutError, OSError):
                    self.diag["slow_clients"] += 1
                    self.close_tcp(client)

    def broadcast(self, telegram):
        for client in list(self.tcp):
            if sum(len(t) for t in client.queue) > TCP_QUEUE_BYTES:  # not even taking what is queued: too slow
                self.diag["slow_clients"] += 1
                self.close_tcp(client)
                continue
            client.queue.append(telegram)
            client.ready.set()

    def close_tcp(self, client):
        if client.closed:
            return
        client.closed = True
        client.ready.set()
        if client in self.tcp:
            self.tcp.remove(client)
        try:
            client.writer.s.close()  # asyncio's StreamWriter.close() leaves the socket open; its reader wakes
        except OSError:
            pass

    # --- diagnostics ------------------------------------------------------------------------------------------
    def diagnostics(self):
        silent = time.ticks_diff(time.ticks_ms(), self.last_rx_ms) // 1000
        d = dict(self.diag)
        d.update({"seconds_since_telegram": silent, "free_heap": gc.mem_free(), "reset_cause": self.hw.reset_cause(),
                  "ring_dropped": self.ring.dropped, "queued": len(self.ring.records),
                  "status": NO_DATA if silent >= NO_DATA_S else "ok"})
        return d

    async def tick_task(self):
        while True:
            self.hw.feed_watchdog()
            d = self.diagnostics()
            print("@D telegrams_ok=%d crc_errors=%d pending=%d queued=%d connected=%d tcp_clients=%d slow_clients=%d"
                  % (d["telegrams_ok"], d["crc_errors"], len(self.pending), d["queued"], self.client is not None,
                     len(self.tcp), d["slow_clients"]))
            news = dict(("diag/" + key, str(d[key])) for key in (
                "telegrams_ok", "crc_errors", "seconds_since_telegram", "reconnects", "free_heap", "reset_cause",
                "status", "ring_dropped", "slow_clients"))
            if self.s1 is not None:
                news.update(self.s1_state())
            for topic, value in news.items():
                if self.meter.state.get(topic) != value:
                    self.meter.state[topic] = value
                    self.pending[topic] = value
            self.clear_unseen()
            self.show()
            await asyncio.sleep_ms(1000)

    def show(self):
        """The J1 display, if one answered at boot; one that stops answering is left alone."""
        if self.display is not None:
            try:
                self.display.show(*display.lines(self.meter.state))
            except OSError:
                self.display = None

    def clear_unseen(self):
        """A field the meter has not sent for a day (meter time) loses its discovery config."""
        seen = self.meter.seen
        now = max(seen.values()) if seen else 0
        for object_id in [o for o, t in seen.items() if now - t > UNSEEN_S]:
            if self.client is not None:
                self.publish("homeassistant/sensor/%s/%s/config" % (self.cfg["node"], object_id), "",
                             retain=True, absolute=True)
                del seen[object_id]
                self.meter.units.pop(object_id, None)
                self.configs.pop(object_id, None)


def http_app(reader):
    from microdot import Microdot, Response

    app = Microdot()

    @app.route("/api/telegram")
    async def telegram(request):
        if reader.last_telegram is None:
            return Response("no telegram yet\n", 503, {"Content-Type": "text/plain"})
        return Response(reader.last_telegram, 200, {"Content-Type": "text/plain"})

    @app.route("/api/state")
    async def state(request):
        return Response(json.dumps(reader.meter.state), 200, {"Content-Type": "application/json"})

    return app


async def serve(reader):
    """The servers listen before the tick's first console line (a host waiting for it may connect at once)."""
    await asyncio.start_server(reader.tcp_client, "0.0.0.0", reader.cfg["tcp_port"])
    http = asyncio.create_task(http_app(reader).start_server(host="0.0.0.0", port=reader.cfg["http_port"]))
    await asyncio.sleep_ms(0)  # the HTTP task runs up to its listening socket
    asyncio.create_task(reader.uart_task())
    asyncio.create_task(reader.mqtt_task())
    asyncio.create_task(reader.tick_task())
    if reader.s1 is not None:
        asyncio.create_task(reader.s1_task())
    await http


def run(config_path, uart_path=None, state_dir="/data", s1_path=None):
    """Boot: check the configuration (a bad one is named on the console, key by key, and the reader stops)."""
    try:
        with open(config_path) as f:
            cfg, problems = configuration.load(f.read())
    except OSError as e:
        cfg, problems = None, ["cannot read %s: %s" % (config_path, e)]
    if problems:
        for line in problems:
            print("@E config: " + line)
        return 2
    reader = Reader(cfg, seam.open_hardware(uart_path, state_dir, s1_path if s1_path else cfg["s1"]))
    try:
        asyncio.run(serve(reader))
    except KeyboardInterrupt:
        pass
    finally:
        if reader.client is not None:  # a clean stop: what is pending, then offline (the will is for an unclean one)
            try:
                while reader.pending:  # the last tick's counters (a host run stops right after its @D line)
                    reader.publish_some()
                reader.publish("status", "offline", retain=True)
                reader.client.disconnect()
            except OSError:
                pass
    return 0


if __name__ == "__main__":
    args = dict(zip(sys.argv[1::2], sys.argv[2::2]))  # --config FILE --uart PATH --state-dir DIR [--s1 PATH]
    sys.exit(run(args.get("--config", "reader.json"), args.get("--uart"), args.get("--state-dir", "/data"),
                 args.get("--s1")))
