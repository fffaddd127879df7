// The image of an MMS campaign. The picker uploads the chosen file to POST /api/media as soon as
// it is chosen and shows what the API stored (re-encoded: the type, dimensions and size are the
// API's, not the file's), or the API's message why not. The campaign page shows the same.
import { api, ApiError, upload } from "./api.js";
import { fill, h } from "./dom.js";
import { number } from "./format.js";

const WHO_GETS_IT = "Subscribers in the US and Canada get it as an MMS; everyone else gets the text with a link to it.";

// The image's public URL (the provider's) as a path: the admin is served from the same origin.
function mediaPath(media) {
  return new URL(media.url).pathname;
}

function size(bytes) {
  return bytes >= 1024 * 1024 ? `${(bytes / (1024 * 1024)).toFixed(1)} MB` : `${number(Math.max(1, Math.round(bytes / 1024)))} KB`;
}

export function describeMedia(media) {
  const kind = media.content_type.replace("image/", "").toUpperCase();
  return `${kind} · ${number(media.width)} × ${number(media.height)} px · ${size(media.size)}`;
}

export function mediaFigure(media, { alt = "The campaign's image" } = {}) {
  return h(
    "figure",
    { class: "mms-image" },
    h("img", { src: mediaPath(media), alt, width: media.width, height: media.height, loading: "lazy" }),
    h("figcaption", {}, describeMedia(media)),
  );
}

// `zone`: an <s-drop-zone>; `preview`: where the image (or why not) shows; `remove`: its button.
export function imagePicker({ zone, preview, remove, onChange = () => {} }) {
  let current = null;

  function show(notice) {
    remove.hidden = !current;
    if (!current) {
      fill(preview, h("s-paragraph", { color: "subdued" }, "No image: the campaign is sent as SMS."));
      return;
    }
    fill(
      preview,
      mediaFigure(current, { alt: "Preview of the campaign's image" }),
      notice ? h("s-paragraph", { tone: "caution" }, notice) : null,
      h("s-paragraph", { color: "subdued" }, WHO_GETS_IT),
    );
  }

  async function choose() {
    const file = zone.files?.[0];
    if (!file) return;
    zone.removeAttribute("error");
    fill(preview, h("s-paragraph", {}, "Uploading the image…"));
    const data = new FormData();
    data.append("file", file, file.name);
    try {
      current = await upload("/media", data);
      show(current.frames_dropped ? "The animation is too large for MMS: its first frame is sent." : null);
      onChange();
    } catch (error) {
      if (!(error instanceof ApiError)) console.error(error);
      zone.setAttribute("error", error instanceof ApiError ? error.message : "The image could not be uploaded. Try again.");
      show();
    }
  }

  zone.addEventListener("change", choose);
  remove.addEventListener("click", () => {
    current = null;
    zone.value = "";
    show();
    onChange();
  });

  return {
    get id() {
      return current ? current.id : null;
    },
    // A saved draft's image (GET /api/media/<id>); none shows the empty state.
    async load(id) {
      if (id) {
        try {
          current = await api(`/media/${id}`);
        } catch (error) {
          zone.setAttribute("error", error.message);
        }
      }
      show();
    },
  };
}

// The campaign page: the image its messages carry, if any.
export async function showCampaignImage(target, mediaId) {
  if (!mediaId) return;
  try {
    const media = await api(`/media/${mediaId}`);
    fill(target, h("s-heading", {}, "Image (MMS)"), mediaFigure(media), h("s-paragraph", { color: "subdued" }, WHO_GETS_IT));
  } catch (error) {
    fill(target, h("s-paragraph", { tone: "critical" }, `The image could not load: ${error.message}`));
  }
}
