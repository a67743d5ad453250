"""Video frames leave the jitter buffer when their last packet arrives, not one frame later.

aiortc's `JitterBuffer` hands a frame to the decoder only when the first packet of the NEXT
frame arrives. At the agent's 5 frames/s that holds every camera frame 200 ms, which the
violation latency pays on every sample; a screen sent every 5 s is held 5 s, so the screenshot
kept after a window switch would be the frame sent before it. The RTP marker bit flags a video
frame's last packet (RFC 7741 for VP8; aiortc and browsers set it), so a complete frame can go
as soon as that packet is in.
"""

import aiortc.rtcrtpreceiver
from aiortc.jitterbuffer import JitterBuffer, JitterFrame
from aiortc.rtp import RtpPacket


class MarkerJitterBuffer(JitterBuffer):
    """aiortc's buffer, which also releases a frame that its marker packet completes."""

    def add(self, packet: RtpPacket) -> tuple[bool, JitterFrame | None]:
        pli_flag, frame = super().add(packet)
        if frame is None and packet.marker and self._origin is not None:
            frame = self._complete_frame(packet)
        return pli_flag, frame

    def _complete_frame(self, last: RtpPacket) -> JitterFrame | None:
        """The frame `last` ends, if every packet from the buffer's head up to it is there.

        The head must hold this frame's first packet: when an older frame is still waiting, or a
        packet is missing, the frame waits for aiortc's own rule (the next frame's arrival).
        """
        packets = []
        for count in range(self.capacity):
            packet = self._packets[(self._origin + count) % self.capacity]
            if packet is None or packet.timestamp != last.timestamp:
                return None
            packets.append(packet)
            if packet.sequence_number == last.sequence_number:
                self.remove(count + 1)
                data = b"".join(p._data for p in packets)  # depayloaded by the receiver
                return JitterFrame(data=data, timestamp=last.timestamp)
        return None


def _receiver_jitter_buffer(capacity: int, prefetch: int = 0, is_video: bool = False):
    if is_video:
        return MarkerJitterBuffer(capacity=capacity, prefetch=prefetch, is_video=True)
    # Audio keeps aiortc's buffer: it prefetches on purpose, and Opus packets carry no marker.
    return JitterBuffer(capacity=capacity, prefetch=prefetch, is_video=is_video)


def release_video_frames_on_marker() -> None:
    """Make this process' RTP receivers use MarkerJitterBuffer for video (the media process)."""
    aiortc.rtcrtpreceiver.JitterBuffer = _receiver_jitter_buffer
