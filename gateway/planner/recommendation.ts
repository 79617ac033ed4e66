import type { PlanDocumentPayload } from '../mqtt/topics.js';
import { HOUR_MS } from '../time/tz.js';

/**
 * "What should the floor do now": one answer, the plan's, for the hour that holds `now` (the page's card,
 * `recommendation/current` on MQTT, Home Assistant and Sparkplug all read it from here). The production-recommender
 * model's class for that hour is returned beside it as `model_recommendation`: an input the plan was made with,
 * never the answer. Null when there is no plan or the plan does not cover `now`.
 */
export function planRecommendationAt(doc: PlanDocumentPayload | null, now: number): { recommendation: string; urgency: string; hour_start: string; hour_start_local: string; running: string[]; model_recommendation: string | null; plan_id: string } | null {
  const hour = doc?.hours.find((h) => Date.parse(h.start) <= now && Date.parse(h.start) + HOUR_MS > now);
  if (!doc || !hour) return null;
  return { recommendation: hour.recommendation, urgency: hour.urgency, hour_start: hour.start, hour_start_local: hour.start_local, running: hour.running, model_recommendation: hour.model_recommendation, plan_id: doc.plan_id };
}
