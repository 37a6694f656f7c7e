// Voice messages: record with MediaRecorder, then upload the clip to the portal's file endpoint.
(function () {
  let recorder = null;
  let chunks = [];
  let stream = null;

  window.fdStartRecording = async function () {
    if (!navigator.mediaDevices || !window.MediaRecorder) {
      return "Voice messages are not supported by this browser. You can attach an audio file instead.";
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      return "We couldn't use your microphone. Allow access in your browser to record a voice message.";
    }
    chunks = [];
    const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"].find(
      (t) => MediaRecorder.isTypeSupported(t)
    );
    recorder = new MediaRecorder(stream, type ? { mimeType: type } : undefined);
    recorder.ondataavailable = (e) => e.data && e.data.size && chunks.push(e.data);
    recorder.start(250);
    return "recording";
  };

  function stopTracks() {
    if (stream) stream.getTracks().forEach((t) => t.stop());
    stream = null;
  }

  window.fdCancelRecording = function () {
    if (recorder && recorder.state !== "inactive") recorder.stop();
    recorder = null;
    chunks = [];
    stopTracks();
    return "cancelled";
  };

  window.fdStopAndUpload = async function (url, token) {
    if (!recorder) return "Nothing is being recorded.";
    const done = new Promise((resolve) => (recorder.onstop = resolve));
    recorder.stop();
    await done;
    stopTracks();
    const type = recorder.mimeType || "audio/webm";
    recorder = null;
    const blob = new Blob(chunks, { type });
    chunks = [];
    if (!blob.size) return "The recording was empty. Try again.";
    const ext = type.includes("ogg") ? "ogg" : "webm";
    const form = new FormData();
    form.append("file", blob, "voice-message." + ext);
    try {
      const resp = await fetch(url, { method: "POST", body: form, headers: { Authorization: "Bearer " + token } });
      if (resp.ok) return "ok";
      const body = await resp.json().catch(() => ({}));
      return body.detail || "The voice message could not be sent.";
    } catch (e) {
      return "The voice message could not be sent. Check your connection.";
    }
  };
})();
