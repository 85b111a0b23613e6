import { createElement } from 'lwc';
import B1forceRetry from 'c/b1forceRetry';
import retry from '@salesforce/apex/B1ForceRetry.retry';
import { CloseScreenEventName } from 'lightning/actions';

jest.mock('@salesforce/apex/B1ForceRetry.retry', () => ({ default: jest.fn() }), { virtual: true });

async function settle() {
    for (let i = 0; i < 3; i++) {
        await Promise.resolve();
    }
}

function mount() {
    const element = createElement('c-b1force-retry', { is: B1forceRetry });
    element.recordId = '006000000000001AAA';
    document.body.appendChild(element);
    return element;
}

const one = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);

describe('c-b1force-retry', () => {
    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        retry.mockReset();
    });

    it('asks first and sends nothing until the operator confirms', async () => {
        const element = mount();
        await settle();
        expect(one(element, 'question')).not.toBeNull();
        expect(retry).not.toHaveBeenCalled();
    });

    it('sends one retry for the record and shows that B1Force queued it', async () => {
        retry.mockResolvedValue({ accepted: true, enqueued: 1, message: 'B1Force queued the record.' });
        const element = mount();
        await settle();
        one(element, 'retry').click();
        await settle();
        expect(retry).toHaveBeenCalledTimes(1);
        expect(retry).toHaveBeenCalledWith({ recordId: '006000000000001AAA' });
        expect(one(element, 'accepted').textContent).toBe('B1Force queued the record.');
        expect(one(element, 'retry')).toBeNull();
    });

    it('shows a refusal and an error as they are', async () => {
        retry.mockResolvedValueOnce({ accepted: false, enqueued: 0, message: 'B1Force refused the retry: HTTP 401' });
        const refused = mount();
        await settle();
        one(refused, 'retry').click();
        await settle();
        expect(one(refused, 'refused').textContent).toContain('HTTP 401');

        retry.mockRejectedValueOnce({ body: { message: 'Retrying an SAP sync needs the B1Force Operator permission set.' } });
        const denied = mount();
        await settle();
        one(denied, 'retry').click();
        await settle();
        expect(one(denied, 'error').textContent).toContain('B1Force Operator');
    });

    it('closes the action screen', async () => {
        const element = mount();
        const closed = jest.fn();
        element.addEventListener(CloseScreenEventName, closed);
        await settle();
        one(element, 'close').click();
        expect(closed).toHaveBeenCalledTimes(1);
    });
});
