import { createElement } from 'lwc';
import B1forceDealPanel, { STALE_AFTER_MS, reduceError } from 'c/b1forceDealPanel';
import getDealView from '@salesforce/apex/B1ForceDealView.getDealView';

jest.mock('@salesforce/apex/B1ForceDealView.getDealView', () => ({ default: jest.fn() }), { virtual: true });

const READ_AT = '2026-12-07T10:00:00.000Z';
const NOW = Date.parse(READ_AT) + 60 * 1000;

function view(overrides = {}) {
    return {
        objectName: 'Opportunity',
        cardCode: 'C20000',
        amount: 900,
        credit: {
            cardCode: 'C20000', creditLimit: 1000, balance: 300, openOrdersBalance: 200, available: 500,
            frozen: false, currencyCode: 'EUR', cached: false
        },
        overCredit: true,
        lines: [
            { product: 'Pump', itemCode: 'A00001', quantity: 5, sap: { price: 49.9, currencyCode: 'EUR', available: 3 }, shortOfStock: true },
            { product: 'Service', itemCode: null, quantity: 1, error: 'The product has no SAP item code.', shortOfStock: false }
        ],
        linesNotLookedUp: 0,
        readAt: READ_AT,
        ...overrides
    };
}

/** Lets the component's awaited Apex call settle and the DOM re-render. */
async function settle() {
    for (let i = 0; i < 3; i++) {
        await Promise.resolve();
    }
}

function mount() {
    const element = createElement('c-b1force-deal-panel', { is: B1forceDealPanel });
    element.recordId = '006000000000001AAA';
    document.body.appendChild(element);
    return element;
}

const one = (element, id) => element.shadowRoot.querySelector(`[data-id="${id}"]`);
const all = (element, id) => element.shadowRoot.querySelectorAll(`[data-id="${id}"]`);

describe('c-b1force-deal-panel', () => {
    beforeEach(() => {
        jest.spyOn(Date, 'now').mockReturnValue(NOW);
    });

    afterEach(() => {
        while (document.body.firstChild) {
            document.body.removeChild(document.body.firstChild);
        }
        jest.restoreAllMocks();
        getDealView.mockReset();
    });

    it('shows a spinner while SAP is read, then the credit, the warnings and one row per line', async () => {
        let answer;
        getDealView.mockReturnValue(new Promise((resolve) => (answer = resolve)));
        const element = mount();
        await settle();
        expect(one(element, 'spinner')).not.toBeNull();
        expect(getDealView).toHaveBeenCalledWith({ recordId: '006000000000001AAA' });

        answer(view());
        await settle();
        expect(one(element, 'spinner')).toBeNull();
        expect(one(element, 'available').querySelector('lightning-formatted-number').value).toBe(500);
        expect(one(element, 'over-credit')).not.toBeNull();
        expect(one(element, 'frozen')).toBeNull();
        expect(all(element, 'line')).toHaveLength(2);
        expect(all(element, 'short')).toHaveLength(1);
        expect(one(element, 'line-error').textContent).toBe('The product has no SAP item code.');
        expect(one(element, 'stale')).toBeNull();
        expect(one(element, 'error')).toBeNull();
    });

    it('shows the error when the first read fails, with nothing else', async () => {
        getDealView.mockRejectedValue({ body: { message: 'SAP has no customer C404.' } });
        const element = mount();
        await settle();
        expect(one(element, 'error').textContent).toBe('SAP has no customer C404.');
        expect(one(element, 'credit')).toBeNull();
        expect(one(element, 'lines')).toBeNull();
    });

    it('keeps the figures and marks them stale when a refresh fails', async () => {
        getDealView.mockResolvedValueOnce(view()).mockRejectedValueOnce({ body: { message: 'HTTP 502 Bad Gateway' } });
        const element = mount();
        await settle();
        one(element, 'refresh').click();
        await settle();
        expect(getDealView).toHaveBeenCalledTimes(2);
        expect(one(element, 'stale').textContent).toContain('the refresh failed: HTTP 502 Bad Gateway');
        expect(all(element, 'line')).toHaveLength(2);
        expect(one(element, 'error')).toBeNull();
    });

    it('says the figures may be out of date once they are older than the stale limit, until a refresh', async () => {
        getDealView.mockResolvedValue(view({ overCredit: false, credit: { ...view().credit, frozen: true } }));
        Date.now.mockReturnValue(Date.parse(READ_AT) + STALE_AFTER_MS + 1);
        const element = mount();
        await settle();
        expect(one(element, 'stale').textContent).toContain('may be out of date');
        expect(one(element, 'frozen')).not.toBeNull();
        expect(one(element, 'over-credit')).toBeNull();

        getDealView.mockResolvedValue(view({ readAt: new Date(Date.now()).toISOString() }));
        one(element, 'refresh').click();
        await settle();
        expect(one(element, 'stale')).toBeNull();
    });

    it('shows why the credit is missing and how many lines were not looked up', async () => {
        getDealView.mockResolvedValue(
            view({ credit: null, creditError: 'The account has no SAP customer yet (SAP_CardCode__c is empty).', overCredit: false, linesNotLookedUp: 4 })
        );
        const element = mount();
        await settle();
        expect(one(element, 'credit')).toBeNull();
        expect(one(element, 'credit-error').textContent).toContain('no SAP customer');
        expect(one(element, 'not-looked-up').textContent).toBe('4 more lines were not looked up.');
    });

    it('shows a product page without a customer section', async () => {
        getDealView.mockResolvedValue(
            view({ objectName: 'Product2', credit: null, creditError: null, overCredit: false, amount: null,
                lines: [{ product: 'Pump', itemCode: 'A00001', quantity: null, sap: { price: 49.9, currencyCode: 'EUR', available: 3 }, shortOfStock: false }] })
        );
        const element = mount();
        await settle();
        expect(one(element, 'credit')).toBeNull();
        expect(one(element, 'credit-error')).toBeNull();
        expect(all(element, 'line')).toHaveLength(1);
        expect(one(element, 'short')).toBeNull();
        expect(one(element, 'warehouses')).toBeNull();
    });

    it('shows a product\'s stock per warehouse on its page, and no warehouses on a deal', async () => {
        const warehouses = [
            { warehouse: '01', inStock: 100, committed: 20, ordered: 0, available: 80 },
            { warehouse: '02', inStock: 20, committed: 0, ordered: 5, available: 25 }
        ];
        const line = { product: 'Pump', itemCode: 'A00001', quantity: null, sap: { price: 49.9, currencyCode: 'EUR', available: 105, warehouses }, shortOfStock: false };
        getDealView.mockResolvedValue(view({ objectName: 'Product2', credit: null, overCredit: false, amount: null, lines: [line] }));
        const element = mount();
        await settle();
        const rows = all(element, 'warehouse');
        expect(Array.from(rows).map((r) => Array.from(r.querySelectorAll('td')).map((td) => td.textContent))).toEqual([
            ['01', '100', '20', '0', '80'],
            ['02', '20', '0', '5', '25']
        ]);

        document.body.removeChild(element);
        getDealView.mockResolvedValue(view({ lines: [{ ...line, quantity: 2 }] }));
        const deal = mount();
        await settle();
        expect(all(deal, 'line')).toHaveLength(1);
        expect(one(deal, 'warehouses')).toBeNull();
    });

    it('reduces Apex, JavaScript and unknown errors to a message', () => {
        expect(reduceError({ body: { message: 'from Apex' } })).toBe('from Apex');
        expect(reduceError(new Error('from JS'))).toBe('from JS');
        expect(reduceError(undefined)).toBe('Unknown error');
    });
});
