// Type declarations for autoproctor.js v1 (open-proctor's browser SDK), served at
// /sdk/v1/autoproctor.d.ts. The script defines a global `AutoProctor` class; include this file
// in your tsconfig ("files" or "include") or reference it:
//   /// <reference path="./autoproctor.d.ts" />
// Every code, event and option below is protocol/protocol.json's: tests/protocol checks that
// they agree. docs/browser-sdk.md explains each.

declare namespace AutoProctorSDK {
  /** apSuccessEvent.detail.successCode: 2001 permission check done, 2002 elements ready,
   * 2003 media and models ready; 2004 the candidate's face enrolled, 2005 the ID card verified
   * (identity, this project's). */
  type SuccessCode = 2001 | 2002 | 2003 | 2004 | 2005;

  /** apErrorEvent.detail.errorCode. The SDK's 40xx; 49xx are this project's extensions. */
  type ErrorCode =
    | 4001 // INCOMPATIBLE_PLATFORM (forceDesktop on a mobile device)
    | 4002 // CAMERA_BLOCKED
    | 4003 // MICROPHONE_BLOCKED
    | 4006 // CAMERA_AND_MICROPHONE_BLOCKED (also: the page is not a secure context)
    | 4007 // MICROPHONE_NOT_READABLE
    | 4008 // CAMERA_NOT_READABLE
    | 4009 // NO_MICROPHONE
    | 4010 // NO_CAMERA
    | 4011 // SCREEN_SHARE_DENIED
    | 4012 // SCREEN_SOURCE_ERROR (also a warning when sharing stops during the test)
    | 4013 // NO_SCREEN_SOURCE
    | 4014 // MUST_SHARE_ENTIRE_SCREEN
    | 4015 // MULTIPLE_MONITORS (a warning: fatal false)
    | 4016 // BROWSER_TOO_OLD
    | 4017 // BROWSER_NOT_SUPPORTED
    | 4018 // FAILED_TO_LOAD (server unreachable, or this page's origin not allowed)
    | 4900 // INVALID_STATE
    | 4901 // INVALID_OPTIONS
    | 4902 // SERVER_REJECTED (serverCode, httpStatus say why)
    | 4903 // CONNECTION_FAILED
    | 4904 // SESSION_REPLACED
    | 4905 // ENROLMENT_NO_FACE (identity, fatal false: the server keeps trying)
    | 4906 // ENROLMENT_MULTIPLE_FACES
    | 4907 // ENROLMENT_FACE_TOO_SMALL
    | 4908 // ENROLMENT_FACE_UNCLEAR
    | 4909; // ID_CARD_NOT_VERIFIED

  /** apEvidenceEvent.detail.evidenceCode. 5001-5009 are the SDK's; 5010-5015 this project's. */
  type EvidenceCode =
    | 5001 // NO_FACE
    | 5002 // MULTIPLE_HUMANS
    | 5003 // RANDOM_PHOTO
    | 5004 // AUDIO
    | 5005 // SWITCHED_AWAY
    | 5006 // RETURNED
    | 5007 // MULTIPLE_MONITORS
    | 5008 // TRACK_ENDED
    | 5009 // FULLSCREEN_EXIT
    | 5010 // CAPTURE_STOPPED
    | 5011 // OFFLINE
    | 5012 // ANALYSIS_GAP
    | 5013 // STREAM_MISSING
    | 5014 // MULTIPLE_SESSIONS
    | 5015; // IMPERSONATION

  interface Credentials {
    clientId: string;
    testAttemptId: string;
    /** base64(HMAC-SHA256(key=client_secret, msg=testAttemptId)), computed by your backend. */
    hashedTestAttemptId: string;
    /** Extension: the proctoring server; by default the origin autoproctor.js was loaded from. */
    serverUrl?: string;
  }

  interface TrackingOptions {
    /** Analyse the microphone for speech and noise. Default true. */
    audio?: boolean;
    /** Count the people in front of the camera. Default true. */
    numHumans?: boolean;
    /** Report switches away from the test tab or window (5005/5006). Default true. */
    tabSwitch?: boolean;
    /** Keep a screen frame as evidence of a switch (needs the entire screen shared). Default true. */
    captureSwitchedTab?: boolean;
    /** Take webcam photos at random times (5003). Default true. */
    photosAtRandom?: boolean;
    /** How many random photos, 1 to 100. Default 25. */
    numPhotosAtRandom?: number;
    /** Report a second monitor (4015 at setup, 5007 during the test). Default true. */
    detectMultipleScreens?: boolean;
    /** Take a photo of the candidate at the start. Default false. */
    testTakerPhoto?: boolean;
    /** Record the received streams on the server. Default false. */
    recordSession?: boolean;
    /** Ask for full screen and report each exit (5009). Default false. */
    forceFullScreen?: boolean;
    /** Refuse mobile devices (4001). Default false. */
    forceDesktop?: boolean;
    /** Block copy, cut and paste (and the context menu) on the page. Default false. */
    disableCopyPaste?: boolean;
    /** Enrol the candidate's face and compare later frames with it (5015). Default false. */
    impersonation?: boolean;
    /** Check the face on the candidate's ID card (requestIdCardPhoto()). Default false. */
    idCardVerification?: boolean;
  }

  interface UserDetails {
    name?: string;
    email?: string;
  }

  /** setup()'s argument. `track` is another name for `trackingOptions`: give one of them. */
  interface ProctoringOptions {
    trackingOptions?: TrackingOptions;
    track?: TrackingOptions;
    userDetails?: UserDetails;
    /** The integrator's grouping key (a course, an exam), at most 200 characters. */
    lookupKey?: string;
    /** The test's length in minutes, 1 to 1440: random photos are spread over it. */
    testDuration?: number | null;
  }

  /** The options with every default filled in, as the server runs them. */
  interface ValidatedOptions {
    trackingOptions: Required<TrackingOptions>;
    userDetails: UserDetails;
    lookupKey: string;
    testDuration: number | null;
  }

  interface SetupCompletedDetail {
    testAttemptId: string;
    options: ValidatedOptions;
    /** Options the page asked to set otherwise: the server's (the integrator's) stand. */
    ignoredOptions?: string[];
  }

  interface MonitoringStartedDetail {
    testAttemptId: string;
    sessionId: string;
    /** True when this start resumed the attempt (a second start(), a reload). */
    resumed: boolean;
  }

  interface MonitoringStoppedDetail {
    /** null unless the integrator lets candidates see their score. */
    trustScore: number | null;
    testAttemptId: string;
    status: string;
    finishedAt: string | null;
    /** Violations the server pushed during this page's monitoring. */
    violations: number;
  }

  interface InstanceDestroyedDetail {
    testAttemptId: string;
  }

  interface SuccessDetail {
    successCode: SuccessCode;
    message: string;
  }

  interface ErrorDetail {
    errorCode: ErrorCode;
    message: string;
    /** The server's stable error code (e.g. "origin_not_allowed"), when it refused. */
    serverCode?: string;
    httpStatus?: number;
    /** false for a warning: the call goes on. */
    fatal?: boolean;
  }

  interface EvidenceDetail {
    evidenceCode: EvidenceCode;
    message: string;
    /** "server": a violation the server found; "client": what the browser itself reported. */
    source: 'server' | 'client';
    /** Server: the violation type (e.g. "multiple_humans"). */
    violation?: string;
    /** Server: seconds from the attempt's start. */
    startS?: number;
    /** Client: seconds since apMonitoringStarted. */
    t?: number;
    /** Client: what was sent with it (capture, monitors, track, reason). */
    data?: Record<string, unknown>;
  }

  type ProgressStep =
    | 'checking_browser'
    | 'asking_server'
    | 'opening_devices'
    | 'elements_ready'
    | 'connecting'
    | 'connected';

  interface ProgressDetail {
    step: ProgressStep;
    /** 0 to 100. */
    progress: number;
    message: string;
  }

  /** Extension: the media connection's state. */
  interface ConnectionStateDetail {
    state:
      | 'new'
      | 'connecting'
      | 'connected'
      | 'disconnected'
      | 'failed'
      | 'closed'
      | 'reconnecting'
      | 'reconnected';
    attempt?: number;
    sessionId?: string;
    resumed?: boolean;
  }

  type SetupState = null | 'ready' | 'error';
  type State = 'created' | 'setup' | 'started' | 'stopping' | 'stopped' | 'destroyed';
}

/** One proctored test attempt, as the AutoProctor SDK's instance. */
declare class AutoProctor {
  /** No network request: the credentials are kept and readable on the instance. */
  constructor(credentials: AutoProctorSDK.Credentials);
  readonly clientId: string;
  readonly testAttemptId: string;
  readonly hashedTestAttemptId: string;
  readonly serverUrl: string;
  /** null until setup() ran, then 'ready' or 'error'. */
  readonly setupState: AutoProctorSDK.SetupState;
  /** Extension: where the lifecycle is. */
  readonly state: AutoProctorSDK.State;
  readonly options: AutoProctorSDK.ValidatedOptions | null;
  readonly ignoredOptions: string[];
  readonly requiredStreams: Array<'camera' | 'microphone' | 'screen'>;
  readonly sessionId: string | null;
  readonly violations: number;
  static readonly version: string;
  /** Extension: the options validated as setup() and the server validate them (throws Error). */
  static validateOptions(options?: AutoProctorSDK.ProctoringOptions | null): AutoProctorSDK.ValidatedOptions;

  /** Ask the server which options stand, open the devices they need and build the proctoring
   * elements -> apSetupCompleted, or apErrorEvent. Resolves with setupState; never rejects. */
  setup(options?: AutoProctorSDK.ProctoringOptions): Promise<AutoProctorSDK.SetupState>;
  /** Create or resume the attempt and stream -> apMonitoringStarted. Resolves with its detail,
   * or null after an apErrorEvent. */
  start(): Promise<AutoProctorSDK.MonitoringStartedDetail | null>;
  /** Flush, stop the attempt, wait for the Trust Score -> apMonitoringStopped. */
  stop(): Promise<AutoProctorSDK.MonitoringStoppedDetail | null>;
  /** idCardVerification: take the ID card the candidate holds up from the camera now; the result
   * comes as apSuccessEvent 2005 or apErrorEvent 4909. */
  requestIdCardPhoto(): void;
  /** Release the camera, microphone and screen and remove the elements -> apInstanceDestroyed.
   * The attempt is not stopped: reloading the page resumes it. */
  destroy(): void;
}

interface WindowEventMap {
  apSetupCompleted: CustomEvent<AutoProctorSDK.SetupCompletedDetail>;
  apMonitoringStarted: CustomEvent<AutoProctorSDK.MonitoringStartedDetail>;
  apMonitoringStopped: CustomEvent<AutoProctorSDK.MonitoringStoppedDetail>;
  apInstanceDestroyed: CustomEvent<AutoProctorSDK.InstanceDestroyedDetail>;
  apSuccessEvent: CustomEvent<AutoProctorSDK.SuccessDetail>;
  apErrorEvent: CustomEvent<AutoProctorSDK.ErrorDetail>;
  apEvidenceEvent: CustomEvent<AutoProctorSDK.EvidenceDetail>;
  apProgressUpdate: CustomEvent<AutoProctorSDK.ProgressDetail>;
  apConnectionStateChange: CustomEvent<AutoProctorSDK.ConnectionStateDetail>;
}
