// "Face recognition" on a kiosk clock's page: 1:N among how many workers, or "This clock
// verifies faces 1:1: N workers" (face-match decides it from the gallery's size; see
// face-search.js).
import { client } from "../../api.js";
import { Badge, ErrorBanner, useLoad } from "../../ui.jsx";
import { faceSearchText } from "./face-search.js";

export function FaceSearch({ clockId }) {
  const data = useLoad(() => client.clockFaceSearch(clockId), [clockId]);
  const text = faceSearchText(data.data);
  return (
    <section class="card stack" aria-labelledby="clock-face-search">
      <h2 id="clock-face-search">Face recognition</h2>
      <ErrorBanner error={data.error} />
      {text && (
        <>
          <p>
            <Badge tone={text.tone}>{text.headline}</Badge>
          </p>
          <p class="muted">{text.detail}</p>
        </>
      )}
    </section>
  );
}
