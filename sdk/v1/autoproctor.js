/*! autoproctor.js v1: the AutoProctor browser SDK of open-proctor, served by the server it talks to.
 *
 *   const apInst = new AutoProctor({ clientId, testAttemptId, hashedTestAttemptId })
 *   await apInst.setup({ track: { audio: true, numHumans: true, tabSwitch: true } })
 *   apInst.start()      // -> apMonitoringStarted
 *   apInst.stop()       // -> apMonitoringStopped
 *   apInst.destroy()    // -> apInstanceDestroyed
 *
 * Plain modern JavaScript, no build step, no dependency. Every code, event shape, option default
 * and bound, and which option needs which device come from the protocol definition
 * (protocol/protocol.json), which the server writes into this file where PROTOCOL is set when it
 * serves it; a copy served elsewhere reads it from GET /api/v1/protocol/ in setup().
 * docs/browser-sdk.md documents every option, event and code. MIT licence.
 */
(function (global) {
  'use strict';

  const PROTOCOL = /*@@PROTOCOL@@*/ null;
  const SDK_VERSION = '1.0.0';
  // The one code needed before the definition is loaded (setup() cannot load it): the test
  // suite checks that it is the definition's FAILED_TO_LOAD.
  const FALLBACK_FAILED_TO_LOAD = 4018;
  const SCRIPT_SRC = global.document && document.currentScript ? document.currentScript.src : '';

  // --- What the browser sends (docs/browser-sdk.md, "Bandwidth") ------------------------------
  // The server analyses one camera frame a second and 1 s audio windows; every packet costs its
  // media process SRTP, jitter-buffer and decode work, so the browser sends what the agent sends:
  // 2 frames/s. The bitrate cap leaves room above Chrome's target (about 100 kbps here) for the
  // frames that change most; at 150 kbps the encoder dropped them (1.0-1.5 frames/s measured).
  const CAMERA = { fps: 2, bitrate: 200000 };
  const RECORDED_CAMERA = { fps: 5, bitrate: 300000 };
  const CAMERA_CONSTRAINTS = { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 15 } };
  // Raw sound: noise above the background is itself evidence, so no suppression or gain.
  const AUDIO_CONSTRAINTS = { echoCancellation: false, noiseSuppression: false, autoGainControl: false };
  // Chrome sends a screen frame only when the screen changes; the server counts each frame as
  // PROCTOR_SCREEN_FRAME_COVERS_S (12 s) of coverage, so a frame goes out at least this often.
  const SCREEN_KEEPALIVE_S = 4;
  const SCREEN_MAX_WIDTH = 1280;
  const SCREEN_BITRATE = 150000;
  // After a switch away with captureSwitchedTab, the frames the server may keep as evidence.
  const CAPTURE_FRAMES_AFTER_S = [0.4, 1.2];
  // Connection and retries (as the agent: agent/supervisor.py, agent/http.py).
  const GATHER_TIMEOUT_S = 5;
  const CONNECT_TIMEOUT_S = 20;
  const RECONNECT_GRACE_S = 5;
  const LIVENESS_POLL_S = 1;
  // The candidate pair ICE settles on within this after connecting; a change later is a move.
  const PATH_SETTLE_S = 3;
  const RECONNECT_FIRST_DELAY_S = 0.5;
  const RECONNECT_MAX_DELAY_S = 5;
  const REQUEST_TIMEOUT_S = 30;
  const STOP_DEADLINE_S = 120;
  const FLUSH_DELAY_S = 0.5;
  const STATUS_POLL_S = 0.5;
  const STATUS_POLL_MAX_S = 3;
  // A beacon that never arrived: ask with a readable request after this long.
  const BEACON_CONFIRM_S = 5;
  const MONITOR_POLL_S = 2;
  const DEFAULT_PHOTO_SPAN_MIN = 60;
  const MAX_QUEUED_EVENTS = 1000;
  const FINAL_SERVER_CODES = ['session_replaced', 'session_in_use', 'attempt_stopped'];
  const REPLACED_SERVER_CODES = ['session_replaced', 'session_in_use'];
  // Browsers below these major versions lack what the SDK uses (getDisplayMedia's
  // displaySurface, transceivers with mids, RTCRtpSender.setParameters): 4016.
  const MINIMUM_VERSIONS = { Chrome: 94, Edge: 94, Opera: 80, Firefox: 93, Safari: 15.4 };
  const STORAGE_PREFIX = 'autoproctor:v1:';

  const PATHS = {
    protocol: '/api/v1/protocol/',
    options: '/api/v1/agent/options/',
    iceServers: '/api/v1/agent/ice-servers/',
    sessions: '/api/v1/agent/sessions/',
    stop: '/api/v1/agent/stop/',
    status: '/api/v1/agent/status/',
  };

  // What the candidate should do about each error, by the definition's code name (the test
  // suite checks that every error code of the definition has one).
  const FIXES = {
    INCOMPATIBLE_PLATFORM: 'Use a desktop or laptop computer for this test.',
    CAMERA_BLOCKED: 'Allow the camera for this site (the camera icon in the address bar), then reload the page.',
    MICROPHONE_BLOCKED: 'Allow the microphone for this site (the icon in the address bar), then reload the page.',
    CAMERA_AND_MICROPHONE_BLOCKED: 'Allow the camera and the microphone for this site (the icon in the address bar), then reload the page.',
    MICROPHONE_NOT_READABLE: 'Close other programs that use the microphone (video calls, recorders), then reload the page.',
    CAMERA_NOT_READABLE: 'Close other programs that use the camera (video calls, other tabs), then reload the page.',
    NO_MICROPHONE: 'Connect a microphone, then reload the page.',
    NO_CAMERA: 'Connect a camera, then reload the page.',
    SCREEN_SHARE_DENIED: 'Share your screen when the browser asks: click the button below.',
    SCREEN_SOURCE_ERROR: 'Your screen could not be captured: share it again with the button below.',
    NO_SCREEN_SOURCE: 'This browser cannot share the screen here: use a current desktop browser.',
    MUST_SHARE_ENTIRE_SCREEN: 'Choose "Entire screen" (not a window or a tab) when you share.',
    MULTIPLE_MONITORS: 'Disconnect every monitor but one, then reload the page.',
    FAILED_TO_LOAD: 'Check your internet connection, then reload the page.',
    INVALID_STATE: 'Reload the page; if it happens again, tell the exam organiser.',
    INVALID_OPTIONS: 'The exam page is misconfigured: tell the exam organiser.',
    SERVER_REJECTED: 'The proctoring server refused: tell the exam organiser.',
    CONNECTION_FAILED: 'Your network blocks the video connection: try another network, then reload the page.',
    SESSION_REPLACED: 'This test continues in another tab or device: close this one.',
    BROWSER_TOO_OLD: 'Update your browser to its latest version, then reload the page.',
    BROWSER_NOT_SUPPORTED: 'Open this test in a current Chrome, Edge or Firefox.',
    ENROLMENT_NO_FACE: 'Sit facing the camera, in good light, with your whole face in view.',
    ENROLMENT_MULTIPLE_FACES: 'Make sure only you are in front of the camera.',
    ENROLMENT_FACE_TOO_SMALL: 'Move closer to the camera.',
    ENROLMENT_FACE_UNCLEAR: 'Look straight at the camera and hold still.',
    ID_CARD_NOT_VERIFIED: 'Hold your ID card beside your face, its photo towards the camera, and try again.',
  };
  // What the server's identity check may tell the candidate (never fatal: it keeps trying with
  // the next frames, so the fix is the candidate's).
  const IDENTITY_PROBLEMS = [
    'ENROLMENT_NO_FACE', 'ENROLMENT_MULTIPLE_FACES', 'ENROLMENT_FACE_TOO_SMALL',
    'ENROLMENT_FACE_UNCLEAR', 'ID_CARD_NOT_VERIFIED',
  ];

  const STATE = {
    CREATED: 'created', SETUP: 'setup', STARTED: 'started',
    STOPPING: 'stopping', STOPPED: 'stopped', DESTROYED: 'destroyed',
  };
  // STARTED -> STARTED is a resume; STOPPING -> STOPPING retries a failed stop (agent/lifecycle.py).
  const ALLOWED = {
    created: ['setup'], setup: ['started'], started: ['started', 'stopping'],
    stopping: ['stopping', 'stopped'], stopped: [], destroyed: [],
  };
  const ACTIONS = { setup: 'setup', started: 'start', stopping: 'stop' };

  const sleep = (s) => new Promise((resolve) => setTimeout(resolve, s * 1000));
  const clone = (value) => JSON.parse(JSON.stringify(value));

  // --- The protocol definition -------------------------------------------------------------

  class Definition {
    constructor(raw) {
      this.raw = raw;
      const byKind = (kind) => Object.fromEntries(raw.codes[kind].map((e) => [e.name, e.code]));
      this.error = byKind('error');
      this.success = byKind('success');
      this.evidence = byKind('evidence');
      this.channel = Object.fromEntries(raw.channel.client_event_codes.map((e) => [e.name, e.code]));
      this.messages = {};
      for (const kind of ['success', 'error', 'evidence']) {
        for (const entry of raw.codes[kind]) this.messages[entry.code] = entry.message;
      }
      this.names = {};
      for (const entry of raw.codes.error) this.names[entry.code] = entry.name;
    }

    /** The streams (camera, microphone, screen) these trackingOptions need. */
    requiredStreams(tracking) {
      return Object.entries(this.raw.streams)
        .filter(([, spec]) => spec.required_by.some((option) => tracking[option]))
        .map(([name]) => name);
    }

    /** The options with every default filled in, or an OptionError naming the first bad one.
     * The same rules and messages as protocol/options.py (the server's and the agent's). */
    validateOptions(raw) {
      const specs = this.raw.options;
      const aliases = { track: 'trackingOptions' };
      if (raw !== undefined && raw !== null && !isObject(raw)) {
        throw new OptionError(`options must be an object, got ${typeName(raw)}`);
      }
      raw = clone(raw || {});
      checkKnown(raw, { ...specs, ...aliases }, '');
      let section = 'trackingOptions';
      for (const [alias, name] of Object.entries(aliases)) {
        if (alias in raw && name in raw) {
          throw new OptionError(`options '${alias}' and '${name}' are the same option: give only one`);
        }
        if (alias in raw) section = alias;
      }
      const tracking = {};
      for (const [name, spec] of Object.entries(specs.trackingOptions)) tracking[name] = spec.default;
      Object.assign(tracking, checkSection(section in raw ? raw[section] : {}, section, specs.trackingOptions));
      const options = {
        trackingOptions: tracking,
        userDetails: checkSection('userDetails' in raw ? raw.userDetails : {}, 'userDetails', specs.userDetails),
      };
      for (const name of ['lookupKey', 'testDuration']) {
        const value = name in raw ? raw[name] : specs[name].default;
        options[name] = value === null ? value : checkValue(value, name, specs[name]);
      }
      return options;
    }
  }

  class OptionError extends Error {
    get name() {
      return 'OptionError';
    }
  }

  function isObject(value) {
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  }

  // Python's type names, so that the messages are the server's word for word.
  function typeName(value) {
    if (value === null) return 'NoneType';
    if (Array.isArray(value)) return 'list';
    if (typeof value === 'boolean') return 'bool';
    if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
    if (typeof value === 'string') return 'str';
    return 'dict';
  }

  function checkKnown(given, known, prefix) {
    for (const key of Object.keys(given)) {
      if (!(key in known)) throw new OptionError(`unknown option '${prefix}${key}'`);
    }
  }

  function checkSection(given, name, specs) {
    if (!isObject(given)) throw new OptionError(`option '${name}' must be an object, got ${typeName(given)}`);
    checkKnown(given, specs, `${name}.`);
    const out = {};
    for (const [key, value] of Object.entries(given)) out[key] = checkValue(value, `${name}.${key}`, specs[key]);
    return out;
  }

  const TYPE_NAMES = { boolean: 'a boolean', integer: 'an integer', string: 'a string' };

  function checkValue(value, name, spec) {
    const ok = {
      boolean: typeof value === 'boolean',
      integer: typeof value === 'number' && Number.isInteger(value),
      string: typeof value === 'string',
    }[spec.type];
    if (!ok) throw new OptionError(`option '${name}' must be ${TYPE_NAMES[spec.type]}, got ${typeName(value)}`);
    if (spec.type === 'integer') {
      const low = spec.min ?? null;
      const high = spec.max ?? null;
      if ((low !== null && value < low) || (high !== null && value > high)) {
        const bounds = high !== null ? `between ${low} and ${high}` : `at least ${low}`;
        throw new OptionError(`option '${name}' must be ${bounds}, got ${value}`);
      }
    }
    if (spec.type === 'string' && spec.maxLength !== undefined && value.length > spec.maxLength) {
      throw new OptionError(`option '${name}' is longer than ${spec.maxLength} characters`);
    }
    return value;
  }

  // --- Errors --------------------------------------------------------------------------------

  /** A failure with an SDK code (by the definition's name); `serverCode` is the server's. */
  class ProctorError extends Error {
    constructor(name, message, extra = {}) {
      super(message);
      this.codeName = name;
      this.serverCode = extra.serverCode;
      this.httpStatus = extra.httpStatus;
      this.fatal = extra.fatal !== false;
    }
  }

  // --- The browser: platform, version, devices ---------------------------------------------

  function browserProblem(ua, forceDesktop) {
    if (forceDesktop && /Android|iPhone|iPad|iPod|Mobile|Windows Phone/i.test(ua)) {
      return new ProctorError('INCOMPATIBLE_PLATFORM', 'this test must be taken on a desktop or laptop computer (forceDesktop)');
    }
    if (/MSIE |Trident\/|Opera Mini|UCBrowser/.test(ua)) {
      return new ProctorError('BROWSER_NOT_SUPPORTED', 'this browser cannot run a proctored test');
    }
    const found = browserVersion(ua);
    if (found && found.version < MINIMUM_VERSIONS[found.name]) {
      return new ProctorError(
        'BROWSER_TOO_OLD',
        `${found.name} ${found.version} is too old: version ${MINIMUM_VERSIONS[found.name]} or later is needed`,
      );
    }
    const missing = [];
    if (typeof global.RTCPeerConnection !== 'function') missing.push('WebRTC');
    if (typeof global.fetch !== 'function') missing.push('fetch');
    if (typeof global.CustomEvent !== 'function') missing.push('CustomEvent');
    if (missing.length) {
      return new ProctorError('BROWSER_NOT_SUPPORTED', `this browser lacks ${missing.join(', ')}`);
    }
    return null;
  }

  function browserVersion(ua) {
    const patterns = [
      ['Edge', /Edg\/(\d+)/], ['Opera', /OPR\/(\d+)/], ['Firefox', /Firefox\/(\d+)/],
      ['Chrome', /(?:Chrome|Chromium|CriOS)\/(\d+)/], ['Safari', /Version\/(\d+(?:\.\d+)?).*Safari/],
    ];
    for (const [name, pattern] of patterns) {
      const match = ua.match(pattern);
      if (match) return { name, version: parseFloat(match[1]) };
    }
    return null;
  }

  /** Which device a getUserMedia failure is about, read from the permission states and the
   * devices present, since one request asks for both. */
  async function deviceError(error, wants) {
    const name = error && error.name;
    const both = wants.camera && wants.microphone;
    if (name === 'NotAllowedError' || name === 'SecurityError' || name === 'PermissionDeniedError') {
      const denied = await deniedPermissions(wants);
      if (both && (denied.camera === denied.microphone)) {
        return new ProctorError('CAMERA_AND_MICROPHONE_BLOCKED', 'camera and microphone permissions were denied');
      }
      if (denied.microphone || !wants.camera) {
        return new ProctorError('MICROPHONE_BLOCKED', 'microphone permission was denied');
      }
      return new ProctorError('CAMERA_BLOCKED', 'camera permission was denied');
    }
    if (name === 'NotFoundError' || name === 'DevicesNotFoundError' || name === 'OverconstrainedError') {
      const kinds = await deviceKinds();
      if (wants.camera && (!kinds.has('videoinput') || !wants.microphone)) {
        return new ProctorError('NO_CAMERA', 'no camera was found');
      }
      return new ProctorError('NO_MICROPHONE', 'no microphone was found');
    }
    if (name === 'NotReadableError' || name === 'TrackStartError' || name === 'AbortError') {
      const which = /audio|microphone/i.test(error.message || '') || !wants.camera;
      return which
        ? new ProctorError('MICROPHONE_NOT_READABLE', `the microphone cannot be read (${error.message})`)
        : new ProctorError('CAMERA_NOT_READABLE', `the camera cannot be read (${error.message})`);
    }
    return new ProctorError(
      wants.camera ? 'CAMERA_NOT_READABLE' : 'MICROPHONE_NOT_READABLE',
      `the devices could not be opened (${name || error})`,
    );
  }

  async function deniedPermissions(wants) {
    const denied = { camera: wants.camera, microphone: wants.microphone };
    if (!(navigator.permissions && navigator.permissions.query)) return denied;
    for (const device of ['camera', 'microphone']) {
      if (!wants[device]) continue;
      try {
        denied[device] = (await navigator.permissions.query({ name: device })).state === 'denied';
      } catch (e) {
        denied[device] = true; // the browser cannot say: count it as denied
      }
    }
    return denied;
  }

  async function deviceKinds() {
    try {
      return new Set((await navigator.mediaDevices.enumerateDevices()).map((d) => d.kind));
    } catch (e) {
      return new Set();
    }
  }

  function screenError(error) {
    const name = error && error.name;
    if (name === 'NotAllowedError' || name === 'PermissionDeniedError') {
      return new ProctorError('SCREEN_SHARE_DENIED', 'screen sharing was denied');
    }
    if (name === 'NotFoundError') return new ProctorError('NO_SCREEN_SOURCE', 'no screen can be shared');
    if (name === 'InvalidStateError') {
      return new ProctorError('SCREEN_SHARE_DENIED', 'the browser asks for a click before sharing the screen');
    }
    return new ProctorError('SCREEN_SOURCE_ERROR', `the screen could not be captured (${name || error})`);
  }

  // --- The proctoring UI --------------------------------------------------------------------

  const STYLE = `
.ap-root{position:fixed;right:16px;bottom:16px;z-index:2147483000;width:200px;font:13px/1.35 system-ui,sans-serif;color:#1b1f24;background:#fff;border:1px solid #d0d7de;border-radius:8px;box-shadow:0 4px 16px rgba(0,0,0,.15);overflow:hidden}
.ap-root video{display:block;width:200px;height:150px;background:#111;object-fit:cover}
.ap-badge{display:flex;align-items:center;gap:6px;padding:6px 8px;font-weight:600}
.ap-badge::before{content:"";width:9px;height:9px;border-radius:50%;background:#9aa4ae}
.ap-badge[data-state=monitoring]::before{background:#1f883d}
.ap-badge[data-state=reconnecting]::before,.ap-badge[data-state=setting-up]::before{background:#bf8700}
.ap-badge[data-state=error]::before{background:#cf222e}
.ap-message{display:none;padding:8px;border-top:1px solid #d0d7de;background:#fff8f8;color:#82071e}
.ap-message[data-shown]{display:block}
.ap-message strong{display:block;margin-bottom:2px}
.ap-button{display:none;margin:0 8px 8px;padding:6px 10px;border:0;border-radius:6px;background:#0969da;color:#fff;font:inherit;cursor:pointer}
.ap-button[data-shown]{display:block}
.ap-overlay{position:fixed;inset:0;z-index:2147483001;display:none;align-items:center;justify-content:center;background:rgba(15,20,25,.85);color:#fff;font:16px/1.4 system-ui,sans-serif;text-align:center}
.ap-overlay[data-shown]{display:flex}
.ap-overlay button{margin-top:12px;padding:10px 18px;border:0;border-radius:6px;background:#fff;color:#0969da;font:inherit;font-weight:600;cursor:pointer}`;

  class ProctorUi {
    constructor() {
      this.elements = [];
      const style = document.createElement('style');
      style.className = 'ap-style';
      style.textContent = STYLE;
      document.head.appendChild(style);
      this.root = this.element('div', 'ap-root', document.body);
      this.root.setAttribute('role', 'status');
      this.root.setAttribute('aria-live', 'polite');
      this.preview = this.element('video', 'ap-preview', this.root);
      this.preview.muted = true;
      this.preview.autoplay = true;
      this.preview.playsInline = true;
      this.badge = this.element('div', 'ap-badge', this.root);
      this.message = this.element('div', 'ap-message', this.root);
      this.button = this.element('button', 'ap-button', this.root);
      this.button.type = 'button';
      this.overlay = this.element('div', 'ap-overlay', document.body);
      this.elements.push(style);
      this.status('setting-up', 'Setting up proctoring…');
    }

    element(tag, className, parent) {
      const node = document.createElement(tag);
      node.className = className;
      parent.appendChild(node);
      if (parent === document.body) this.elements.push(node);
      return node;
    }

    status(state, text) {
      this.badge.dataset.state = state;
      this.badge.textContent = text;
    }

    /** A setup() tried again (the candidate fixed what failed). */
    reset() {
      this.failed = false;
      this.clearError();
      this.action(null);
      this.status('setting-up', 'Setting up proctoring…');
    }

    showCamera(stream) {
      this.preview.srcObject = stream || null;
      if (stream) this.preview.play().catch(() => {});
    }

    showError(title, fix) {
      this.message.replaceChildren();
      const strong = document.createElement('strong');
      strong.textContent = title;
      this.message.append(strong, document.createTextNode(fix || ''));
      this.message.dataset.shown = '';
    }

    clearError() {
      delete this.message.dataset.shown;
    }

    action(label, onClick) {
      if (!label) {
        delete this.button.dataset.shown;
        this.button.onclick = null;
        return;
      }
      this.button.textContent = label;
      this.button.onclick = onClick;
      this.button.dataset.shown = '';
    }

    /** Resolves with what `then` gives once the candidate clicks the button (a user gesture). */
    clickToContinue(label, then) {
      return new Promise((resolve, reject) => {
        this.action(label, () => {
          this.action(null);
          then().then(resolve, reject);
        });
      });
    }

    block(text, label, onClick) {
      if (!text) {
        delete this.overlay.dataset.shown;
        return;
      }
      this.overlay.replaceChildren();
      const box = document.createElement('div');
      box.textContent = text;
      const button = document.createElement('button');
      button.type = 'button';
      button.className = 'ap-overlay-button';
      button.textContent = label;
      button.onclick = onClick;
      box.appendChild(document.createElement('br'));
      box.appendChild(button);
      this.overlay.appendChild(box);
      this.overlay.dataset.shown = '';
    }

    remove() {
      this.showCamera(null);
      for (const node of this.elements) node.remove();
      this.elements = [];
    }
  }

  // --- The screen: a canvas track that always has a recent frame ---------------------------

  /** The shared screen, redrawn on a canvas whose track is what the peer connection sends: a
   * frame goes out every SCREEN_KEEPALIVE_S even when the screen is still (Chrome sends none
   * then), a switch can hurry one, and sharing again after it ended needs no renegotiation. */
  class ScreenRelay {
    constructor(displayStream, onEnded) {
      this.canvas = document.createElement('canvas');
      this.context = this.canvas.getContext('2d');
      this.video = document.createElement('video');
      this.video.muted = true;
      this.video.playsInline = true;
      this.track = this.canvas.captureStream(0).getVideoTracks()[0];
      this.onEnded = onEnded;
      this.timer = null;
      this.framesSent = 0;
      this.use(displayStream);
    }

    use(displayStream) {
      const previous = this.display;
      this.display = displayStream;
      const track = displayStream.getVideoTracks()[0];
      const settings = track.getSettings();
      const scale = Math.min(1, SCREEN_MAX_WIDTH / (settings.width || SCREEN_MAX_WIDTH));
      this.canvas.width = Math.round((settings.width || 1280) * scale);
      this.canvas.height = Math.round((settings.height || 720) * scale);
      track.addEventListener('ended', () => {
        if (this.display === displayStream && !this.stopped) this.onEnded();
      });
      this.video.srcObject = displayStream;
      this.video.addEventListener('loadeddata', () => this.timer !== null && this.sendFrame(), { once: true });
      this.video.play().catch(() => {});
      if (previous) previous.getTracks().forEach((t) => t.stop());
    }

    get surface() {
      const track = this.display && this.display.getVideoTracks()[0];
      return track ? track.getSettings().displaySurface : undefined;
    }

    start() {
      this.sendFrame();
      this.timer = setInterval(() => this.sendFrame(), SCREEN_KEEPALIVE_S * 1000);
    }

    sendFrame() {
      if (this.stopped || this.video.readyState < 2) return;
      this.context.drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
      // One corner pixel alternates: Chrome encodes no frame that repeats the last one exactly.
      this.context.fillStyle = this.framesSent % 2 ? '#000' : '#010101';
      this.context.fillRect(this.canvas.width - 1, this.canvas.height - 1, 1, 1);
      if (this.track.requestFrame) this.track.requestFrame();
      this.framesSent += 1;
    }

    /** After a switch away: the next frames show where the candidate went. */
    hurry() {
      for (const delay of CAPTURE_FRAMES_AFTER_S) setTimeout(() => this.sendFrame(), delay * 1000);
    }

    stop() {
      this.stopped = true;
      clearInterval(this.timer);
      this.track.stop();
      if (this.display) this.display.getTracks().forEach((t) => t.stop());
      this.video.srcObject = null;
    }
  }

  // --- The instance ----------------------------------------------------------------------

  class AutoProctor {
    /** No network here, as in the SDK: the credentials are kept and readable on the instance.
     * `serverUrl` (an extension) defaults to the origin this script was served from. */
    constructor(credentials) {
      const given = credentials || {};
      this.clientId = given.clientId;
      this.testAttemptId = given.testAttemptId;
      this.hashedTestAttemptId = given.hashedTestAttemptId;
      this.serverUrl = String(given.serverUrl || (SCRIPT_SRC ? new URL(SCRIPT_SRC).origin : global.location.origin)).replace(/\/$/, '');
      // The SDK's: null, then 'ready' or 'error' once setup() has run.
      this.setupState = null;
      this.state = STATE.CREATED;
      this.options = null;
      this.ignoredOptions = [];
      this.requiredStreams = [];
      this.sessionId = null;
      this.connectionState = 'new';
      this.violations = 0;
      this.version = SDK_VERSION;
      this._definition = PROTOCOL ? new Definition(PROTOCOL) : null;
      this._streams = {};
      this._screen = null;
      this._pc = null;
      this._sessionToken = null;
      this._channel = null;
      this._queue = [];
      this._timers = new Set();
      this._listeners = [];
      this._ui = null;
      this._away = false;
      this._startedAt = null;
      this._beaconSent = false;
      this._replaced = false;
      this._supervising = false;
      this._opening = null;
    }

    get _storageKey() {
      return `${STORAGE_PREFIX}${this.clientId}:${this.testAttemptId}`;
    }

    // -- events --------------------------------------------------------------------------

    _emit(name, detail) {
      global.dispatchEvent(new CustomEvent(name, { detail }));
    }

    _error(error) {
      const C = this._definition;
      const code = C ? C.error[error.codeName] : FALLBACK_FAILED_TO_LOAD;
      const detail = { errorCode: code, message: oneLine(error.message) };
      if (error.serverCode !== undefined) detail.serverCode = error.serverCode;
      if (error.httpStatus !== undefined) detail.httpStatus = error.httpStatus;
      if (!error.fatal) detail.fatal = false;
      this._emit('apErrorEvent', detail);
      // The candidate keeps seeing the cause: a start() refused because setup() failed does
      // not replace setup()'s message.
      if (this._ui && !(error.codeName === 'INVALID_STATE' && this._ui.failed)) {
        const title = C ? C.messages[code] : 'Proctoring could not start.';
        this._ui.showError(title, ` ${FIXES[error.codeName] || ''}`);
        if (error.fatal) this._ui.status('error', 'Proctoring stopped');
        this._ui.failed = this._ui.failed || error.fatal;
      }
      return error;
    }

    _success(name) {
      const code = this._definition.success[name];
      this._emit('apSuccessEvent', { successCode: code, message: this._definition.messages[code] });
    }

    _progress(step, progress, message) {
      this._emit('apProgressUpdate', { step, progress, message });
    }

    _connection(detail) {
      this.connectionState = detail.state;
      this._emit('apConnectionStateChange', detail);
      if (!this._ui) return;
      if (detail.state === 'reconnecting') this._ui.status('reconnecting', 'Reconnecting…');
      if (detail.state === 'connected' || detail.state === 'reconnected') this._ui.status('monitoring', 'Monitoring');
    }

    // -- state -----------------------------------------------------------------------------

    _transitionError(target) {
      const current = this.state;
      if (target === STATE.DESTROYED || ALLOWED[current].includes(target)) return null;
      const action = ACTIONS[target] || target;
      if (current === STATE.DESTROYED) return `cannot ${action}(): the instance was destroyed`;
      if (target === STATE.STARTED && (current === STATE.STOPPING || current === STATE.STOPPED)) {
        return 'cannot start(): monitoring was stopped for this test attempt; it cannot restart';
      }
      if (current === STATE.CREATED) return `cannot ${action}(): call setup() first`;
      if (target === STATE.STARTED && this.setupState === 'error') return 'cannot start(): setup() failed';
      return `cannot ${action}() in state '${current}'`;
    }

    _check(target) {
      const problem = this._transitionError(target);
      if (problem) throw new ProctorError('INVALID_STATE', problem);
    }

    _alive() {
      if (this.state === STATE.DESTROYED) throw new ProctorError('INVALID_STATE', 'the instance was destroyed');
    }

    // -- HTTP --------------------------------------------------------------------------------

    _credentials() {
      return {
        client_id: this.clientId,
        test_attempt_id: this.testAttemptId,
        hashed_test_attempt_id: this.hashedTestAttemptId,
      };
    }

    /** Stop and status need the token of this page's session as well (#22): the HMAC alone,
     * which others may have seen, cannot end someone's test. */
    _sessionCredentials() {
      return { ...this._credentials(), session_token: this._sessionToken || this._storedToken() || '' };
    }

    async _post(path, body, action) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_S * 1000);
      let response;
      try {
        response = await fetch(this.serverUrl + path, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ ...this._credentials(), ...body }),
          mode: 'cors',
          credentials: 'omit',
          signal: controller.signal,
        });
      } catch (e) {
        // A refused CORS preflight looks like this too: the page's origin is not allowed.
        throw new ProctorError(
          'FAILED_TO_LOAD',
          `${action} failed: server ${this.serverUrl} unreachable, or this page's origin is not allowed by it (${e.name})`,
        );
      } finally {
        clearTimeout(timer);
      }
      let payload = {};
      try {
        payload = await response.json();
      } catch (e) {
        payload = {};
      }
      if (!response.ok) {
        const serverCode = String(payload.code || `http_${response.status}`);
        const message = String(payload.message || response.statusText || 'server error');
        throw new ProctorError(
          response.status >= 500 ? 'FAILED_TO_LOAD' : 'SERVER_REJECTED',
          `${action} failed: ${message} (${serverCode})`,
          { serverCode, httpStatus: response.status },
        );
      }
      return payload;
    }

    async _loadDefinition() {
      if (this._definition) return;
      try {
        const response = await fetch(this.serverUrl + PATHS.protocol, { credentials: 'omit' });
        this._definition = new Definition(await response.json());
      } catch (e) {
        throw new ProctorError('FAILED_TO_LOAD', `the protocol definition could not be loaded from ${this.serverUrl}`);
      }
    }

    // -- setup -------------------------------------------------------------------------------

    /** Validate the options, ask the server which stand, open the devices they need and build
     * the proctoring elements -> apSetupCompleted, or apErrorEvent (setupState 'error').
     * Resolves with setupState; never rejects. */
    async setup(proctoringOptions) {
      try {
        this._check(STATE.SETUP);
      } catch (error) {
        this._error(error);
        return this.setupState;
      }
      try {
        await domReady();
        if (this._ui) this._ui.reset();
        else this._ui = new ProctorUi();
        await this._loadDefinition();
        await this._setup(proctoringOptions);
      } catch (caught) {
        const error = asProctorError(caught, 'FAILED_TO_LOAD');
        this.setupState = 'error';
        this._releaseDevices();
        if (this.state !== STATE.DESTROYED) this._error(error);
      }
      return this.setupState;
    }

    async _setup(proctoringOptions) {
      const C = this._definition;
      this._progress('checking_browser', 5, 'Checking the browser');
      let requested;
      try {
        requested = C.validateOptions(proctoringOptions);
      } catch (e) {
        if (e instanceof OptionError) throw new ProctorError('INVALID_OPTIONS', e.message);
        throw e;
      }
      const problem = browserProblem(navigator.userAgent, requested.trackingOptions.forceDesktop);
      if (problem) throw problem;
      this._progress('asking_server', 20, 'Asking the proctoring server');
      const decided = await this._post(PATHS.options, { options: requested }, 'setup');
      this._alive();
      const options = C.validateOptions(decided.options);
      this.ignoredOptions = decided.ignored_options || [];
      this.requiredStreams = decided.required_streams || C.requiredStreams(options.trackingOptions);
      this.options = options;
      this._progress('opening_devices', 40, 'Opening the camera, microphone and screen');
      await this._openDevices(options.trackingOptions);
      this._alive();
      this._success('PERMISSION_CHECK_DONE');
      this._ui.showCamera(this._streams.camera);
      this._ui.status('ready', 'Ready');
      this._success('ELEMENTS_READY');
      this._progress('elements_ready', 70, 'Ready to start');
      if (options.trackingOptions.detectMultipleScreens && global.screen && global.screen.isExtended) {
        this._error(new ProctorError('MULTIPLE_MONITORS', 'more than one monitor is connected: use one screen during the test', { fatal: false }));
      }
      this.state = STATE.SETUP;
      this.setupState = 'ready';
      const detail = { testAttemptId: this.testAttemptId, options: clone(options) };
      if (this.ignoredOptions.length) detail.ignoredOptions = [...this.ignoredOptions];
      this._emit('apSetupCompleted', detail);
    }

    async _openDevices(tracking) {
      const wants = {
        camera: this.requiredStreams.includes('camera'),
        microphone: this.requiredStreams.includes('microphone'),
        screen: this.requiredStreams.includes('screen'),
      };
      if ((wants.camera || wants.microphone || wants.screen) && !(global.isSecureContext && navigator.mediaDevices)) {
        const name = wants.camera && wants.microphone ? 'CAMERA_AND_MICROPHONE_BLOCKED'
          : wants.camera ? 'CAMERA_BLOCKED' : wants.microphone ? 'MICROPHONE_BLOCKED' : 'SCREEN_SHARE_DENIED';
        throw new ProctorError(name, 'the browser gives the camera, microphone and screen only to secure pages: serve the exam page over HTTPS');
      }
      if (wants.camera || wants.microphone) {
        let stream;
        try {
          stream = await navigator.mediaDevices.getUserMedia({
            video: wants.camera ? CAMERA_CONSTRAINTS : false,
            audio: wants.microphone ? AUDIO_CONSTRAINTS : false,
          });
        } catch (e) {
          throw await deviceError(e, wants);
        }
        const video = stream.getVideoTracks()[0];
        const audio = stream.getAudioTracks()[0];
        if (video) this._streams.camera = new MediaStream([video]);
        if (audio) this._streams.microphone = new MediaStream([audio]);
      }
      if (wants.screen) await this._openScreen();
    }

    async _openScreen() {
      if (!navigator.mediaDevices.getDisplayMedia) {
        throw new ProctorError('NO_SCREEN_SOURCE', 'this browser cannot share the screen');
      }
      const ask = () => navigator.mediaDevices.getDisplayMedia({
        video: { displaySurface: 'monitor', frameRate: { ideal: 5, max: 15 } },
        audio: false,
        monitorTypeSurfaces: 'include',
        surfaceSwitching: 'exclude',
        selfBrowserSurface: 'exclude',
      });
      let display;
      try {
        display = await ask();
      } catch (e) {
        // Browsers that want a click before sharing the screen: the candidate gives one.
        if (e.name !== 'InvalidStateError' || !this._ui) throw screenError(e);
        display = await this._ui.clickToContinue('Share your entire screen', ask).catch((again) => {
          throw screenError(again);
        });
      }
      const surface = display.getVideoTracks()[0].getSettings().displaySurface;
      if (surface !== undefined && surface !== 'monitor') {
        display.getTracks().forEach((t) => t.stop());
        throw new ProctorError('MUST_SHARE_ENTIRE_SCREEN', `a ${surface} was shared, not the entire screen`);
      }
      if (this._screen) {
        this._screen.use(display);
      } else {
        this._screen = new ScreenRelay(display, () => this._onTrackEnded('screen'));
      }
    }

    // -- start -------------------------------------------------------------------------------

    /** Create or resume the attempt and stream -> apMonitoringStarted. Again before stop(),
     * or after a page reload on the same attempt, it resumes: a new media session, the
     * attempt's violations kept. Resolves with apMonitoringStarted's detail, or null. */
    async start() {
      try {
        this._check(STATE.STARTED);
        if (this.setupState !== 'ready') throw new ProctorError('INVALID_STATE', 'cannot start(): setup() did not complete');
      } catch (error) {
        this._error(error);
        return null;
      }
      let reply;
      try {
        const first = this.state === STATE.SETUP;
        this._progress('connecting', 80, 'Connecting to the proctoring server');
        reply = await this._replaceSession();
        this._alive();
        this.state = STATE.STARTED;
        this._success('MEDIA_AND_MODELS_READY');
        this._progress('connected', 100, 'Proctoring is on');
        this._ui.clearError();
        this._ui.status('monitoring', 'Monitoring');
        const detail = { testAttemptId: this.testAttemptId, sessionId: this.sessionId, resumed: Boolean(reply.resumed) };
        this._emit('apMonitoringStarted', detail);
        if (first) this._beginTracking();
        return detail;
      } catch (caught) {
        const error = asProctorError(caught, 'CONNECTION_FAILED');
        if (this.state === STATE.DESTROYED) return null;
        if (REPLACED_SERVER_CODES.includes(error.serverCode)) {
          this._onReplaced();
        } else {
          this._error(error);
        }
        return null;
      }
    }

    async _iceServers() {
      const reply = await this._post(PATHS.iceServers, {}, 'start');
      return Array.isArray(reply.ice_servers) ? reply.ice_servers : [];
    }

    _addTracks(pc) {
      const recorded = this.options.trackingOptions.recordSession;
      const camera = recorded ? RECORDED_CAMERA : CAMERA;
      const sending = [];
      const add = (role, track, stream, encoding) => {
        const transceiver = pc.addTransceiver(track, { direction: 'sendonly', streams: [stream], sendEncodings: [encoding] });
        preferCodec(transceiver, track.kind === 'video' ? 'video/VP8' : 'audio/opus');
        if (track.kind === 'video') keepResolution(transceiver.sender);
        sending.push([role, transceiver]);
      };
      if (this._streams.camera) {
        const track = this._streams.camera.getVideoTracks()[0];
        add('camera', track, this._streams.camera, { maxBitrate: camera.bitrate, maxFramerate: camera.fps, priority: 'high', networkPriority: 'high' });
      }
      if (this._streams.microphone && this.options.trackingOptions.audio) {
        add('microphone', this._streams.microphone.getAudioTracks()[0], this._streams.microphone, { priority: 'high' });
      }
      if (this._screen) {
        const stream = new MediaStream([this._screen.track]);
        add('screen', this._screen.track, stream, { maxBitrate: SCREEN_BITRATE, priority: 'very-low', networkPriority: 'very-low' });
      }
      return sending;
    }

    async _openSession() {
      const pc = new RTCPeerConnection({ iceServers: await this._iceServers(), bundlePolicy: 'max-bundle' });
      this._pc = pc;
      const sending = this._addTracks(pc);
      const channel = pc.createDataChannel(this._definition.raw.channel.label, { ordered: true });
      this._attachChannel(channel);
      pc.addEventListener('connectionstatechange', () => this._onConnectionState(pc));
      await pc.setLocalDescription(await pc.createOffer());
      await gatheringDone(pc);
      const roles = {};
      for (const [role, transceiver] of sending) if (transceiver.mid !== null) roles[transceiver.mid] = role;
      this._roles = roles;
      const body = {
        protocol: this._definition.raw.version,
        options: this.options,
        offer: { type: 'offer', sdp: pc.localDescription.sdp },
        track_roles: roles,
      };
      const token = this._storedToken();
      if (token) body.resume_token = token;
      const reply = await this._post(PATHS.sessions, body, 'start');
      this._storeToken(reply.session_token);
      this._alive();
      await pc.setRemoteDescription(reply.answer);
      await connected(pc, CONNECT_TIMEOUT_S);
      this._alive();
      return reply;
    }

    /** Close the current session (if any) and open a new one; with `dead`, only if that is
     * still the current one (a start() may have replaced it meanwhile). */
    async _replaceSession(dead) {
      while (this._opening) await this._opening.catch(() => {});
      if (dead !== undefined && this._pc !== dead) return null;
      const opening = (async () => {
        this._closeSession();
        try {
          const reply = await this._openSession();
          this.sessionId = reply.session_id;
          return reply;
        } catch (error) {
          this._closeSession();
          throw error;
        }
      })();
      this._opening = opening;
      try {
        return await opening;
      } finally {
        this._opening = null;
      }
    }

    _closeSession() {
      const pc = this._pc;
      this._pc = null;
      this._channel = null;
      if (pc) {
        try {
          pc.close();
        } catch (e) { /* already closed */ }
      }
    }

    _storedToken() {
      try {
        return JSON.parse(global.sessionStorage.getItem(this._storageKey) || '{}').token || null;
      } catch (e) {
        return null;
      }
    }

    _storeToken(token) {
      // Kept in memory too: with storage off, this page can still stop its own session.
      if (token) this._sessionToken = token;
      try {
        if (token) global.sessionStorage.setItem(this._storageKey, JSON.stringify({ token }));
        else global.sessionStorage.removeItem(this._storageKey);
      } catch (e) { /* storage off: a reload is then a second session, as with an old agent */ }
    }

    // -- the events channel ------------------------------------------------------------------

    _attachChannel(channel) {
      this._channel = channel;
      channel.addEventListener('open', () => this._flush());
      channel.addEventListener('message', (event) => this._onChannelMessage(event.data));
    }

    _report(name, detail) {
      const code = this._definition.channel[name];
      const t = this._startedAt === null ? 0 : (performance.now() - this._startedAt) / 1000;
      const message = { type: 'event', code, t: Math.round(t * 1000) / 1000, detail };
      this._emit('apEvidenceEvent', {
        evidenceCode: code,
        message: this._definition.messages[code],
        source: 'client',
        t: message.t,
        data: { ...detail },
      });
      this._queue.push(message);
      if (this._queue.length > MAX_QUEUED_EVENTS) this._queue.shift();
      this._flush();
    }

    _flush() {
      const channel = this._channel;
      while (this._queue.length && channel && channel.readyState === 'open') {
        channel.send(JSON.stringify(this._queue.shift()));
      }
    }

    _onChannelMessage(raw) {
      let message;
      try {
        message = JSON.parse(raw);
      } catch (e) {
        return;
      }
      if (!isObject(message)) return;
      if (message.type === 'session_replaced') {
        this._onReplaced();
        return;
      }
      if (message.type === 'identity' || message.type === 'id_card') {
        this._onIdentity(message.code);
        return;
      }
      if (message.type !== 'violation') return;
      const code = message.code;
      if (!Number.isInteger(code) || !(code in this._definition.messages) || Math.floor(code / 1000) !== 5) return;
      const detail = { evidenceCode: code, message: this._definition.messages[code], source: 'server' };
      if (typeof message.violation === 'string') detail.violation = message.violation;
      if (typeof message.start_s === 'number') detail.startS = message.start_s;
      this.violations += 1;
      this._emit('apEvidenceEvent', detail);
    }

    /** Identity (enrolment, the ID card): success events, or a non-fatal error saying what the
     * candidate should change; the server keeps trying with the next frames. */
    _onIdentity(code) {
      const C = this._definition;
      if (code === C.success.IDENTITY_ENROLLED) {
        this._success('IDENTITY_ENROLLED');
        if (this._ui) this._ui.clearError();
        return;
      }
      if (code === C.success.ID_CARD_VERIFIED) {
        this._success('ID_CARD_VERIFIED');
        if (this._ui) this._ui.clearError();
        return;
      }
      const name = IDENTITY_PROBLEMS.find((problem) => C.error[problem] === code);
      if (name) this._error(new ProctorError(name, C.messages[code], { fatal: false }));
    }

    _onReplaced() {
      if (this._replaced || this.state === STATE.DESTROYED) return;
      this._replaced = true;
      this._storeToken(null);
      this._error(new ProctorError('SESSION_REPLACED', 'another session of this attempt took over; this one has stopped'));
      this.destroy();
    }

    // -- tracking: switches, full screen, monitors, photos, copy and paste -------------------

    _beginTracking() {
      const tracking = this.options.trackingOptions;
      this._startedAt = performance.now();
      if (tracking.testTakerPhoto) this._report('RANDOM_PHOTO', { reason: 'test_taker' });
      if (tracking.tabSwitch) this._watchFocus(tracking.captureSwitchedTab && this._screen !== null);
      if (tracking.forceFullScreen) this._keepFullScreen();
      if (tracking.detectMultipleScreens) this._watchMonitors();
      if (tracking.photosAtRandom && this._streams.camera) this._schedulePhotos(tracking.numPhotosAtRandom);
      if (tracking.disableCopyPaste) this._blockCopyPaste();
      for (const role of ['camera', 'microphone']) {
        const stream = this._streams[role];
        if (stream) stream.getTracks().forEach((t) => t.addEventListener('ended', () => this._onTrackEnded(role)));
      }
      if (this._screen) this._screen.start();
      this._supervise();
    }

    _on(target, name, handler, options) {
      target.addEventListener(name, handler, options);
      this._listeners.push([target, name, handler, options]);
    }

    _every(seconds, fn) {
      const id = setInterval(fn, seconds * 1000);
      this._timers.add(['interval', id]);
    }

    _after(seconds, fn) {
      const id = setTimeout(fn, seconds * 1000);
      this._timers.add(['timeout', id]);
    }

    /** Away: the page is hidden or the window lost focus to something outside the page (a
     * click into one of the page's own frames keeps document.hasFocus()). */
    _watchFocus(capture) {
      const check = () => {
        if (this.state !== STATE.STARTED) return;
        const away = document.visibilityState === 'hidden' || !document.hasFocus();
        if (away === this._away) return;
        this._away = away;
        if (away) {
          const detail = capture ? { capture: true } : {};
          if (capture) this._screen.hurry();
          this._report('SWITCHED_AWAY', detail);
        } else {
          this._report('RETURNED', {});
        }
      };
      this._on(document, 'visibilitychange', check);
      this._on(global, 'blur', () => setTimeout(check, 0));
      this._on(global, 'focus', check);
    }

    _keepFullScreen() {
      const root = document.documentElement;
      const enter = () => {
        if (!document.fullscreenElement && root.requestFullscreen) {
          root.requestFullscreen().then(() => this._ui.block(null), () => ask());
        }
      };
      const ask = () => this._ui.block('This test runs in full screen.', 'Return to full screen', enter);
      // Each fullscreenchange is one transition. An exit right after an entry can run before the
      // entry's event is dispatched, and both events then see no full-screen element: counting
      // transitions (and trusting an element when there is one) still finds one exit, once.
      let inFullScreen = Boolean(document.fullscreenElement);
      this._on(document, 'fullscreenchange', () => {
        const wasIn = inFullScreen;
        inFullScreen = document.fullscreenElement ? true : !inFullScreen;
        if (this.state !== STATE.STARTED) return;
        if (inFullScreen) {
          this._ui.block(null);
          return;
        }
        if (wasIn) this._report('FULLSCREEN_EXIT', {});
        ask();
      });
      if (!document.fullscreenElement) enter();
    }

    _watchMonitors() {
      if (!global.screen || !('isExtended' in global.screen)) return;
      let extended = Boolean(global.screen.isExtended);
      if (extended) this._report('MULTIPLE_MONITORS', { monitors: 2 });
      const check = () => {
        const now = Boolean(global.screen.isExtended);
        if (now && !extended && this.state === STATE.STARTED) this._report('MULTIPLE_MONITORS', { monitors: 2 });
        extended = now;
      };
      this._on(global.screen, 'change', check);
      this._every(MONITOR_POLL_S, check);
    }

    _schedulePhotos(count) {
      const span = (this.options.testDuration || DEFAULT_PHOTO_SPAN_MIN) * 60;
      const times = Array.from({ length: count }, () => Math.random() * span).sort((a, b) => a - b);
      for (const at of times) {
        this._after(at, () => this.state === STATE.STARTED && this._report('RANDOM_PHOTO', { reason: 'random' }));
      }
    }

    _blockCopyPaste() {
      for (const name of ['copy', 'cut', 'paste']) {
        this._on(document, name, (event) => event.preventDefault(), true);
      }
      this._on(document, 'contextmenu', (event) => event.preventDefault(), true);
    }

    _onTrackEnded(role) {
      if (this.state !== STATE.STARTED) return;
      this._report('TRACK_ENDED', { track: role });
      if (role === 'screen') {
        this._error(new ProctorError('SCREEN_SOURCE_ERROR', 'screen sharing stopped: share the entire screen again', { fatal: false }));
        this._ui.action('Share your screen again', () => this._reshareScreen());
      } else {
        this._error(new ProctorError(role === 'camera' ? 'CAMERA_NOT_READABLE' : 'MICROPHONE_NOT_READABLE', `the ${role} stopped`, { fatal: false }));
      }
    }

    async _reshareScreen() {
      try {
        await this._openScreen();
        this._ui.action(null);
        this._ui.clearError();
        this._screen.sendFrame();
      } catch (error) {
        if (error instanceof ProctorError) this._error(new ProctorError(error.codeName, error.message, { fatal: false }));
      }
    }

    // -- keeping the connection ----------------------------------------------------------------

    _onConnectionState(pc) {
      if (pc !== this._pc || this.state === STATE.STOPPING) return;
      const state = pc.connectionState;
      this._lastChange = performance.now();
      if (this.state === STATE.STARTED) this._connection({ state });
    }

    /** A connection that failed, stayed disconnected past the grace time, went silent, or moved
     * its media to another path is replaced by a resumed one.
     * - Silent: no receiver report from the media process for RECONNECT_GRACE_S (once it has
     *   sent one), as the agent's supervisor reads the server's RTCP.
     * - Moved: when the direct path breaks (UDP blocked mid-test), Chromium moves the media onto
     *   a TURN pair by itself, with the connection still "connected"; the media process then
     *   keeps failing to decode the video it lost packets of. A fresh session starts clean. */
    _supervise() {
      if (this._supervising) return;
      this._supervising = true;
      this._every(LIVENESS_POLL_S, async () => {
        const pc = this._pc;
        if (this.state !== STATE.STARTED || this._reconnecting || this._opening) return;
        const state = pc ? pc.connectionState : 'closed';
        const since = (performance.now() - (this._lastChange || 0)) / 1000;
        let dead = !pc || state === 'failed' || state === 'closed'
          || (state === 'disconnected' && since > RECONNECT_GRACE_S);
        if (!dead && state === 'connected') {
          const health = await this._health(pc);
          dead = health.silentS > RECONNECT_GRACE_S || health.moved;
        }
        if (dead && pc === this._pc && !this._reconnecting) await this._reconnect(pc);
      });
    }

    /** How long the media process has been silent on `pc`, and whether the media moved to
     * another candidate pair since the path settled (PATH_SETTLE_S after connecting). */
    async _health(pc) {
      let reports = 0;
      let pair = null;
      try {
        for (const stat of (await pc.getStats()).values()) {
          if (stat.type === 'remote-inbound-rtp') reports += stat.roundTripTimeMeasurements || 0;
          if (stat.type === 'transport' && stat.selectedCandidatePairId) pair = stat.selectedCandidatePairId;
        }
      } catch (e) {
        return { silentS: 0, moved: false }; // closed meanwhile: the state check sees it
      }
      const now = performance.now();
      const seen = this._seen && this._seen.pc === pc ? this._seen : null;
      if (!seen) {
        this._seen = { pc, reports, heardAt: now, since: now, pair: null };
        return { silentS: 0, moved: false };
      }
      if (reports !== seen.reports) {
        seen.reports = reports;
        seen.heardAt = now;
      }
      if (seen.pair === null && (now - seen.since) / 1000 >= PATH_SETTLE_S) seen.pair = pair;
      return {
        silentS: seen.reports > 0 ? (now - seen.heardAt) / 1000 : 0,
        moved: seen.pair !== null && pair !== null && pair !== seen.pair,
      };
    }

    async _reconnect(dead) {
      this._reconnecting = true;
      let delay = RECONNECT_FIRST_DELAY_S;
      let attempt = 0;
      try {
        while (this.state === STATE.STARTED && this._pc === dead) {
          attempt += 1;
          this._connection({ state: 'reconnecting', attempt });
          try {
            const reply = await this._replaceSession(dead);
            if (reply) this._connection({ state: 'reconnected', sessionId: reply.session_id, resumed: Boolean(reply.resumed), attempt });
            return;
          } catch (caught) {
            const error = asProctorError(caught, 'CONNECTION_FAILED');
            if (FINAL_SERVER_CODES.includes(error.serverCode)) {
              if (REPLACED_SERVER_CODES.includes(error.serverCode)) this._onReplaced();
              else this._error(error);
              return;
            }
            dead = null;
            await sleep(delay);
            delay = Math.min(delay * 2, RECONNECT_MAX_DELAY_S);
          }
        }
      } finally {
        this._reconnecting = false;
      }
    }

    // -- stop / destroy --------------------------------------------------------------------------

    _cancelTracking() {
      for (const [kind, id] of this._timers) (kind === 'interval' ? clearInterval : clearTimeout)(id);
      this._timers.clear();
      for (const [target, name, handler, options] of this._listeners) target.removeEventListener(name, handler, options);
      this._listeners = [];
    }

    _releaseDevices() {
      for (const stream of Object.values(this._streams)) stream.getTracks().forEach((t) => t.stop());
      this._streams = {};
      if (this._screen) this._screen.stop();
      this._screen = null;
    }

    /** Flush the media, stop the attempt and wait for its Trust Score -> apMonitoringStopped.
     * The stop request goes as a beacon, so it arrives even if the page closes right after.
     * Resolves with apMonitoringStopped's detail, or null. */
    /** idCardVerification: the candidate holds the ID card beside their face and the server
     * takes it from the camera now. The result comes as apSuccessEvent 2005 or apErrorEvent
     * 4909 (5 tries; a failure is for review and never ends the test). */
    requestIdCardPhoto() {
      this._alive();
      if (this.state !== STATE.STARTED) {
        throw this._error(new ProctorError('INVALID_STATE', 'the ID card is checked while monitoring', { fatal: false }));
      }
      this._report('RANDOM_PHOTO', { reason: 'id_card' });
    }

    async stop() {
      try {
        this._check(STATE.STOPPING);
      } catch (error) {
        this._error(error);
        return null;
      }
      this.state = STATE.STOPPING;
      this._cancelTracking();
      this._on(global, 'pagehide', () => this._sendStopBeacon());
      if (this._ui) {
        this._ui.status('setting-up', 'Finishing…');
        this._ui.block(null);
      }
      this._releaseDevices();
      await sleep(FLUSH_DELAY_S);
      this._closeSession();
      try {
        const status = await this._stopAndWait();
        if (this.state === STATE.DESTROYED) return null;
        this.state = STATE.STOPPED;
        this._storeToken(null);
        if (this._ui) this._ui.status('stopped', 'Proctoring finished');
        const score = status.trust_score;
        const detail = {
          trustScore: score === null || score === undefined ? null : Number(score),
          testAttemptId: this.testAttemptId,
          status: 'stopped',
          finishedAt: status.finished_at || null,
          violations: this.violations,
        };
        this._emit('apMonitoringStopped', detail);
        return detail;
      } catch (caught) {
        this._error(asProctorError(caught, 'FAILED_TO_LOAD'));
        return null;
      }
    }

    _sendStopBeacon() {
      if (this._beaconSent || !navigator.sendBeacon) return false;
      // A string is sent as text/plain: no CORS preflight, which a closing page cannot wait for.
      this._beaconSent = navigator.sendBeacon(this.serverUrl + PATHS.stop, JSON.stringify(this._sessionCredentials()));
      return this._beaconSent;
    }

    async _stopAndWait() {
      const deadline = performance.now() + STOP_DEADLINE_S * 1000;
      const askedAt = performance.now();
      let asked = this._sendStopBeacon();
      if (!asked) {
        await this._post(PATHS.stop, this._sessionCredentials(), 'stop');
        asked = true;
      }
      let interval = STATUS_POLL_S;
      let confirmed = false;
      while (performance.now() < deadline) {
        let status;
        try {
          status = await this._post(PATHS.status, this._sessionCredentials(), 'status');
        } catch (error) {
          if (error.httpStatus !== undefined && error.httpStatus < 500 && error.httpStatus !== 429) throw error;
          status = { status: 'unknown' };
        }
        if (status.status === 'stopped') return status;
        if (status.status === 'started' && !confirmed && performance.now() - askedAt > BEACON_CONFIRM_S * 1000) {
          // The beacon did not arrive (or was refused): ask again where the answer is readable.
          confirmed = true;
          await this._post(PATHS.stop, this._sessionCredentials(), 'stop');
        }
        if (this.state === STATE.DESTROYED) return status;
        await sleep(interval);
        interval = Math.min(interval * 1.5, STATUS_POLL_MAX_S);
      }
      throw new ProctorError('FAILED_TO_LOAD', `the attempt was not stopped within ${STOP_DEADLINE_S} s`);
    }

    /** Stop everything and release the camera, microphone and screen, and remove the elements,
     * from any state -> apInstanceDestroyed (once). The attempt is not stopped: a reload of
     * the page resumes it. */
    destroy() {
      if (this.state === STATE.DESTROYED) return;
      const stopping = this.state === STATE.STOPPING;
      this.state = STATE.DESTROYED;
      this._cancelTracking();
      if (stopping) this._sendStopBeacon();
      this._releaseDevices();
      this._closeSession();
      if (this._ui) this._ui.remove();
      this._ui = null;
      this._emit('apInstanceDestroyed', { testAttemptId: this.testAttemptId });
    }
  }

  /** Every failure ends as an apErrorEvent: an unexpected exception (a browser's own
   * DOMException, say) gets the step's code, and the console keeps it for the developer. */
  function asProctorError(error, fallbackName) {
    if (error instanceof ProctorError) return error;
    if (global.console) console.error('autoproctor.js:', error);
    const name = (error && error.name) || 'Error';
    return new ProctorError(fallbackName, `${name}: ${(error && error.message) || error}`);
  }

  function domReady() {
    if (!global.document || document.readyState !== 'loading') return Promise.resolve();
    return new Promise((resolve) => document.addEventListener('DOMContentLoaded', resolve, { once: true }));
  }

  function oneLine(text) {
    return String(text).split(/\s+/).filter(Boolean).join(' ');
  }

  function preferCodec(transceiver, mimeType) {
    if (!transceiver.setCodecPreferences || !global.RTCRtpSender || !RTCRtpSender.getCapabilities) return;
    const kind = mimeType.split('/')[0];
    const codecs = (RTCRtpSender.getCapabilities(kind) || {}).codecs || [];
    const first = codecs.filter((c) => c.mimeType.toLowerCase() === mimeType.toLowerCase());
    const rest = codecs.filter((c) => c.mimeType.toLowerCase() !== mimeType.toLowerCase());
    if (first.length) {
      try {
        transceiver.setCodecPreferences([...first, ...rest]);
      } catch (e) { /* keep the browser's order */ }
    }
  }

  /** A face or a screen's text needs pixels, not motion: under a low bandwidth estimate the
   * encoder drops frames rather than scale them down (Chrome's default halves the resolution).
   * Not contentHint 'detail': Chrome then pads the stream up to a screen-share minimum, and
   * every padding packet costs the server as much as a media packet. */
  function keepResolution(sender) {
    if (!sender.getParameters || !sender.setParameters) return;
    const parameters = sender.getParameters();
    parameters.degradationPreference = 'maintain-resolution';
    sender.setParameters(parameters).catch(() => {});
  }

  /** The server takes the whole offer at once (no trickle): wait for the candidates. */
  function gatheringDone(pc) {
    if (pc.iceGatheringState === 'complete') return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        if (pc.iceGatheringState !== 'complete') return;
        pc.removeEventListener('icegatheringstatechange', done);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        pc.removeEventListener('icegatheringstatechange', done);
        resolve();
      }, GATHER_TIMEOUT_S * 1000);
      pc.addEventListener('icegatheringstatechange', done);
    });
  }

  function connected(pc, timeoutS) {
    return new Promise((resolve, reject) => {
      const fail = () => reject(new ProctorError('CONNECTION_FAILED', `WebRTC connection not established (${pc.connectionState})`));
      const check = () => {
        if (pc.connectionState === 'connected') finish(resolve);
        else if (pc.connectionState === 'failed' || pc.connectionState === 'closed') finish(fail);
      };
      const finish = (then) => {
        pc.removeEventListener('connectionstatechange', check);
        clearTimeout(timer);
        then();
      };
      const timer = setTimeout(() => finish(fail), timeoutS * 1000);
      pc.addEventListener('connectionstatechange', check);
      check();
    });
  }

  /** Extension: the options as setup() and the server validate them (same rules, same
   * messages); throws an Error naming the first bad option. */
  AutoProctor.validateOptions = function validateOptions(options) {
    if (!PROTOCOL) throw new Error('the protocol definition is not loaded: serve autoproctor.js from the proctoring server');
    return new Definition(PROTOCOL).validateOptions(options);
  };
  AutoProctor.version = SDK_VERSION;
  global.AutoProctor = AutoProctor;
})(typeof window !== 'undefined' ? window : globalThis);
