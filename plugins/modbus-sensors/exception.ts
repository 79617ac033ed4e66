// Report by exception is shared by both floor-sensor plugins: it lives in gateway/floor/exception.ts.
export { isDue, takeDue, type ExceptionBand, type Reported } from '../../gateway/floor/exception.js';
